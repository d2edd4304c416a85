-- A clickstream pipeline: raw page views in, cleaned and re-keyed streams out.
-- Run it with: cargo run -- server --queries-file examples/pageviews.sql

CREATE STREAM pageviews (
    viewtime BIGINT,
    userid   STRING KEY,
    pageid   STRING,
    referrer STRING
) WITH (kafka_topic = 'pageviews', value_format = 'JSON', partitions = 4);

-- Views of the landing pages, with the time in seconds.
CREATE STREAM landing_views AS
    SELECT userid, pageid, viewtime / 1000 AS viewtime_s
    FROM pageviews
    WHERE pageid LIKE 'Page\_1%' ESCAPE '\'
    EMIT CHANGES;

-- The same views keyed by page, for per-page consumers.
CREATE STREAM views_by_page AS
    SELECT pageid, userid, viewtime
    FROM pageviews
    PARTITION BY pageid
    EMIT CHANGES;

INSERT INTO pageviews (userid, pageid, viewtime, referrer) VALUES ('User_1', 'Page_10', 1700000000000, 'search');
INSERT INTO pageviews (userid, pageid, viewtime, referrer) VALUES ('User_2', 'Page_27', 1700000001000, NULL);
INSERT INTO pageviews (userid, pageid, viewtime, referrer) VALUES ('User_1', 'Page_11', 1700000002000, 'ad');
