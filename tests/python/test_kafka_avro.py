"""AVRO through a schema registry with an ordinary Kafka client (confluent-kafka), run by
tests/kafka.rs. The registry is Sluice's own (the server's address), as a Confluent one would be.

    produce BROKER REGISTRY TOPIC: creates TOPIC (4 partitions) and writes orders with the
        client's AvroSerializer, which registers the value schema under TOPIC-value.
    consume BROKER REGISTRY TOPIC: reads what Sluice wrote to TOPIC with the client's
        AvroDeserializer (the schema fetched from the registry by the id in each record) and
        checks every value; prints "consumed N".
"""
import sys
import time

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

COUNT = 10

ORDER = """{
  "type": "record", "name": "Order", "namespace": "shop",
  "fields": [
    {"name": "ID", "type": "long"},
    {"name": "ITEM", "type": "string"},
    {"name": "AMOUNT", "type": "double"},
    {"name": "NOTE", "type": ["null", "string"], "default": null}
  ]
}"""


def produce(broker, registry, topic):
    admin = AdminClient({"bootstrap.servers": broker})
    admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])[topic].result(30)
    serializer = AvroSerializer(SchemaRegistryClient({"url": registry}), ORDER)
    producer = Producer({"bootstrap.servers": broker, "partitioner": "murmur2_random"})
    now = int(time.time() * 1000)
    for i in range(COUNT):
        order = {"ID": i, "ITEM": f"item{i}", "AMOUNT": i * 1.5, "NOTE": None if i % 2 else f"n{i}"}
        value = serializer(order, SerializationContext(topic, MessageField.VALUE))
        producer.produce(topic, key=f"o{i}".encode(), value=value, timestamp=now + i)
    if producer.flush(30) != 0:
        sys.exit("records not acknowledged")


def consume(broker, registry, topic):
    deserializer = AvroDeserializer(SchemaRegistryClient({"url": registry}))
    consumer = Consumer(
        {"bootstrap.servers": broker, "group.id": f"reader-{topic}", "enable.auto.commit": False}
    )
    partitions = consumer.list_topics(topic, timeout=30).topics[topic].partitions
    consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
    values = {}
    deadline = time.time() + 60
    while len(values) < COUNT and time.time() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            sys.exit(f"consuming {topic}: {message.error()}")
        value = deserializer(message.value(), SerializationContext(topic, MessageField.VALUE))
        values[value["ID"]] = value
    consumer.close()
    if len(values) != COUNT:
        sys.exit(f"read {len(values)} of {COUNT} records of {topic}")
    for i, value in sorted(values.items()):
        expected = {"ID": i, "ITEM": f"item{i}", "DOUBLED": i * 3.0, "NOTE": None if i % 2 else f"n{i}"}
        if value != expected:
            sys.exit(f"{value} is not {expected}")
    print(f"consumed {len(values)}")


if __name__ == "__main__":
    step, broker, registry, topic = sys.argv[1:5]
    {"produce": produce, "consume": consume}[step](broker, registry, topic)
