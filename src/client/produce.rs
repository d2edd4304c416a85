//! `sluice topics produce`: sends a file of lines to `POST /topics/{topic}/records` in chunks
//! of whole lines.

use std::io::BufRead;

use super::{ClientError, KsqlClient};

/// What `sluice topics produce` sends with each chunk.
#[derive(Debug, Clone, Default)]
pub struct ProduceOptions {
    pub partitions: Option<u32>,
    pub key: Option<String>,
    pub key_format: Option<String>,
    pub format: Option<String>,
    pub delimiter: Option<String>,
}

/// How many bytes of lines go in one request.
const CHUNK_BYTES: usize = 4 * 1024 * 1024;

impl KsqlClient {
    /// Appends every line of `input` to `topic`, telling `progress` the records appended so
    /// far after each chunk. Returns the number of records appended.
    pub fn produce(
        &self,
        topic: &str,
        options: &ProduceOptions,
        input: impl BufRead,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, ClientError> {
        // The name goes in the path as it is, whatever it holds: the server judges it.
        let topic =
            percent_encoding::utf8_percent_encode(topic, percent_encoding::NON_ALPHANUMERIC);
        let url = format!("{}/topics/{topic}/records", self.server);
        let mut total = 0;
        for_each_chunk(input, |first_line, chunk| {
            let appended = self.send(&url, options, first_line, chunk)?;
            total += appended;
            progress(total);
            Ok(appended)
        })
    }
}

/// Hands `input` to `append` in chunks of whole lines of about 4 MB, each with the number of
/// its first line; returns the sum of what `append` returns.
pub fn for_each_chunk(
    mut input: impl BufRead,
    mut append: impl FnMut(usize, &[u8]) -> Result<u64, ClientError>,
) -> Result<u64, ClientError> {
    let mut chunk: Vec<u8> = Vec::with_capacity(CHUNK_BYTES + 4096);
    let (mut first_line, mut lines, mut total) = (1usize, 0usize, 0u64);
    loop {
        let read = input.read_until(b'\n', &mut chunk)?;
        if read > 0 {
            lines += 1;
        }
        if chunk.len() >= CHUNK_BYTES || (read == 0 && !chunk.is_empty()) {
            total += append(first_line, &chunk)?;
            first_line += lines;
            lines = 0;
            chunk.clear();
        }
        if read == 0 {
            return Ok(total);
        }
    }
}

impl KsqlClient {
    fn send(
        &self,
        url: &str,
        options: &ProduceOptions,
        first_line: usize,
        chunk: &[u8],
    ) -> Result<u64, ClientError> {
        let server = &self.server;
        let mut request = self
            .authorized(self.agent.post(url))
            .query("first_line", first_line.to_string());
        let params = [
            ("partitions", options.partitions.map(|p| p.to_string())),
            ("key", options.key.clone()),
            ("key_format", options.key_format.clone()),
            ("format", options.format.clone()),
            ("delimiter", options.delimiter.clone()),
        ];
        for (name, value) in params {
            if let Some(value) = value {
                request = request.query(name, value);
            }
        }
        let unreachable = |e: ureq::Error| ClientError::Unreachable {
            server: server.to_string(),
            message: e.to_string(),
        };
        let mut response = request
            .content_type("application/octet-stream")
            .send(chunk)
            .map_err(unreachable)?;
        let status = response.status();
        let body = response.body_mut().read_to_string().map_err(unreachable)?;
        let reply: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if !status.is_success() {
            let message = reply
                .get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
                .unwrap_or_else(|| format!("HTTP {status}: {body}"));
            return Err(ClientError::Refused(message));
        }
        Ok(reply.get("records").and_then(|r| r.as_u64()).unwrap_or(0))
    }
}
