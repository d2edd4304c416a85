//! The smallest HTTP/1.1 client the REST runner needs: one `POST` per connection, a status, and
//! a body read as it arrives (`Content-Length`, chunked, or up to the end of the connection).
//! ksqlDB's runner talks to its server over HTTP/1.1 too; a streamed `/query` response is read
//! piece by piece, so the runner can act once the header has arrived.

use std::io;
use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most header bytes a response may have.
const MAX_HEAD_BYTES: usize = 64 * 1024;
const READ_CHUNK: usize = 16 * 1024;

/// A response whose head has been read; the body is read on demand.
pub struct Response {
    pub status: u16,
    stream: TcpStream,
    /// Bytes read from the connection and not yet decoded.
    raw: Vec<u8>,
    framing: Framing,
    done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// `Content-Length`: this many body bytes are still to come.
    Length(usize),
    /// `Transfer-Encoding: chunked`.
    Chunked,
    /// Neither: the body ends with the connection.
    UntilClose,
}

fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// Sends `POST path` with a JSON body, accepting `accept`, and reads the response head.
pub async fn post(addr: SocketAddr, path: &str, body: &str, accept: &str) -> io::Result<Response> {
    let mut stream = TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/vnd.ksql.v1+json\r\n\
         Accept: {accept}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.flush().await?;

    let mut raw = Vec::new();
    let head_end = loop {
        if let Some(i) = find(&raw, b"\r\n\r\n") {
            break i;
        }
        if raw.len() > MAX_HEAD_BYTES {
            return Err(invalid("the response head is too long"));
        }
        let mut chunk = [0u8; READ_CHUNK];
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(invalid("the connection closed before the response head"));
        }
        raw.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    raw.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("not an HTTP status line: {status_line}")))?;
    let mut framing = Framing::UntilClose;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("content-length") {
            let length = value
                .parse()
                .map_err(|_| invalid(format!("bad Content-Length: {value}")))?;
            framing = Framing::Length(length);
        } else if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Framing::Chunked;
        }
    }
    Ok(Response {
        status,
        stream,
        raw,
        framing,
        done: false,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

impl Response {
    /// The next piece of the body, or `None` once it has ended.
    pub async fn read_some(&mut self) -> io::Result<Option<Vec<u8>>> {
        loop {
            let data = self.decode()?;
            if !data.is_empty() {
                return Ok(Some(data));
            }
            if self.done {
                return Ok(None);
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = self.stream.read(&mut chunk).await?;
            if n == 0 {
                if self.framing == Framing::UntilClose {
                    self.done = true;
                    continue;
                }
                return Err(invalid("the connection closed in the middle of the body"));
            }
            self.raw.extend_from_slice(&chunk[..n]);
        }
    }

    /// The whole body.
    pub async fn read_all(&mut self) -> io::Result<Vec<u8>> {
        let mut body = Vec::new();
        while let Some(piece) = self.read_some().await? {
            body.extend(piece);
        }
        Ok(body)
    }

    /// Decodes what the buffer holds of the body.
    fn decode(&mut self) -> io::Result<Vec<u8>> {
        match self.framing {
            Framing::UntilClose => Ok(std::mem::take(&mut self.raw)),
            Framing::Length(remaining) => {
                let take = remaining.min(self.raw.len());
                let data: Vec<u8> = self.raw.drain(..take).collect();
                self.framing = Framing::Length(remaining - take);
                if remaining == take {
                    self.done = true;
                }
                Ok(data)
            }
            Framing::Chunked => {
                let mut data = Vec::new();
                while !self.done {
                    let Some(line_end) = find(&self.raw, b"\r\n") else {
                        break;
                    };
                    let line = String::from_utf8_lossy(&self.raw[..line_end]).into_owned();
                    let size_text = line.split(';').next().unwrap_or_default().trim();
                    let size = usize::from_str_radix(size_text, 16)
                        .map_err(|_| invalid(format!("bad chunk size: {line}")))?;
                    if size == 0 {
                        // The last chunk; trailers, if any, are ignored.
                        self.done = true;
                        self.raw.clear();
                        break;
                    }
                    let needed = line_end + 2 + size + 2;
                    if self.raw.len() < needed {
                        break;
                    }
                    data.extend_from_slice(&self.raw[line_end + 2..line_end + 2 + size]);
                    self.raw.drain(..needed);
                }
                Ok(data)
            }
        }
    }
}
