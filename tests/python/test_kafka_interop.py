"""An ordinary Kafka client (confluent-kafka) on both sides of Sluice, run by tests/kafka.rs.

    produce BROKER JSON_IN DELIMITED_IN KAFKA_IN OUT: creates the input topics (4 partitions)
        and writes records as any Kafka producer would (its own murmur2 partitioner).
    consume BROKER JSON_IN DELIMITED_IN KAFKA_IN OUT: reads what Sluice wrote to OUT and checks
        keys, values and partitions byte for byte; prints "consumed N".
"""
import json
import struct
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

COUNT = 20


def produce(broker, json_in, delimited_in, kafka_in):
    admin = AdminClient({"bootstrap.servers": broker})
    created = admin.create_topics(
        [NewTopic(t, num_partitions=4, replication_factor=1) for t in (json_in, delimited_in, kafka_in)]
    )
    for future in created.values():
        future.result(30)
    producer = Producer(
        {"bootstrap.servers": broker, "partitioner": "murmur2_random", "enable.idempotence": True}
    )
    now = int(time.time() * 1000)
    for i in range(COUNT):
        key = f"id{i}".encode()
        producer.produce(json_in, key=key, value=json.dumps({"V": i, "TAGS": [f"t{i}", "x"]}), timestamp=now + i)
        producer.produce(delimited_in, key=key, value=f"name{i},{i}.5", timestamp=now + i)
    for i in range(5):
        producer.produce(kafka_in, key=struct.pack(">i", i), value=struct.pack(">q", 10**12 + i), timestamp=now)
    if producer.flush(30) != 0:
        sys.exit("records not acknowledged")


def read_all(broker, topic, count):
    consumer = Consumer(
        {"bootstrap.servers": broker, "group.id": f"reader-{topic}", "enable.auto.commit": False}
    )
    metadata = consumer.list_topics(topic, timeout=30)
    partitions = metadata.topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    messages = []
    deadline = time.time() + 60
    while len(messages) < count and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            sys.exit(f"consuming {topic}: {message.error()}")
        messages.append(message)
    consumer.close()
    return messages


def consume(broker, json_in, out):
    placed = {m.key(): m.partition() for m in read_all(broker, json_in, COUNT)}
    messages = read_all(broker, out, COUNT)
    if len(messages) != COUNT:
        sys.exit(f"read {len(messages)} of {COUNT} records of {out}")
    for message in messages:
        key = message.key()
        i = int(key.decode()[2:])
        expected = {"DOUBLED": 2 * i, "FIRST_TAG": f"t{i}", "NAME": f"name{i}", "SCORE": i + 0.5}
        value = json.loads(message.value())
        if value != expected:
            sys.exit(f"{key!r}: {value} is not {expected}")
        if message.partition() != placed[key]:
            sys.exit(f"{key!r} is in partition {message.partition()}, the client put it in {placed[key]}")
        if message.value() != json.dumps(expected, separators=(",", ":")).encode():
            sys.exit(f"{key!r}: {message.value()!r} is not written as ksqlDB writes it")
    print(f"consumed {len(messages)}")


if __name__ == "__main__":
    step, broker, json_in, delimited_in, kafka_in, out = sys.argv[1:7]
    if step == "produce":
        produce(broker, json_in, delimited_in, kafka_in)
    else:
        consume(broker, json_in, out)
