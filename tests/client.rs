//! The typed client against a running server: every answer it reads is one of `api`'s types,
//! the ones the server writes, so a change to either side that breaks the other fails here.

mod support;

use std::collections::BTreeMap;

use sluice::api::{CommandState, ErrorBody, KsqlEntity, KsqlRequest, StreamedRow};
use sluice::client::{ClientError, KsqlClient};
use support::Server;

fn request(sql: &str) -> KsqlRequest {
    KsqlRequest {
        ksql: Some(sql.to_string()),
        ..KsqlRequest::default()
    }
}

#[test]
fn statements_queries_and_errors_come_back_typed() {
    let server = Server::start();
    let client = KsqlClient::new(&server.url());
    assert_eq!(client.info().unwrap().server_status, "RUNNING");

    let answer = client
        .ksql(&request(
            "CREATE STREAM s (id STRING KEY, n INT) WITH (kafka_topic='s', value_format='JSON', partitions=1);\n\
             INSERT INTO s (id, n) VALUES ('a', 1);\nSHOW STREAMS;",
        ))
        .unwrap();
    // INSERT … VALUES answers with no entity, as in ksqlDB.
    let [
        KsqlEntity::CurrentStatus { command_status, .. },
        KsqlEntity::Streams { streams, .. },
    ] = &answer[..]
    else {
        panic!("{answer:?}");
    };
    assert_eq!(command_status.status, CommandState::Success);
    assert_eq!(streams[0].name, "S");

    // A query streams its header, its rows and its end.
    let mut properties = BTreeMap::new();
    properties.insert("auto.offset.reset".to_string(), "earliest".into());
    let mut stream = client
        .query(&KsqlRequest {
            streams_properties: properties,
            ..request("SELECT id, n FROM s EMIT CHANGES LIMIT 1;")
        })
        .unwrap();
    let mut elements = Vec::new();
    while let Some(element) = stream.next_row() {
        elements.push(element.unwrap());
    }
    let [
        StreamedRow::Header(header),
        StreamedRow::Row(row),
        StreamedRow::FinalMessage(end),
    ] = &elements[..]
    else {
        panic!("{elements:?}");
    };
    assert!(header.query_id.starts_with("transient_"), "{header:?}");
    assert_eq!(header.schema, "`ID` STRING, `N` INTEGER");
    assert_eq!(row.columns, Some(vec!["a".into(), 1.into()]));
    assert_eq!(end, "Limit Reached");

    // A refused statement is ksqlDB's error body, with the statement and its position.
    match client.ksql(&request("CREATE STREAM broken (;")) {
        Err(ClientError::Server(ErrorBody::Statement {
            message,
            statement_text,
            ..
        })) => {
            assert!(message.starts_with("line 1:"), "{message}");
            assert_eq!(statement_text, "CREATE STREAM broken (;");
        }
        other => panic!("{other:?}"),
    }
    // And a server that is not there says so.
    let nowhere = KsqlClient::new("http://127.0.0.1:9");
    assert!(matches!(
        nowhere.info(),
        Err(ClientError::Unreachable { .. })
    ));
}
