//! HTTP/2 by the HTTP/1.1 `Upgrade: h2c` handshake (RFC 7540 §3.2), as clients of Vert.x
//! servers use it.
//!
//! The server answers `101 Switching Protocols` and the connection continues as HTTP/2, with
//! the request that asked for the upgrade answered on stream 1. The HTTP/2 server has no way
//! to be handed a request it did not read, so the upgraded connection's input is rewritten:
//! right after the client's connection preface and first SETTINGS frame, the original request
//! is spliced in as the HEADERS and DATA frames of stream 1, as if the client had sent it over
//! HTTP/2. Its header block uses only literal fields without indexing, so the client's HPACK
//! state and the server's stay in step.
//!
//! A request whose body has no length or exceeds HTTP/2's initial flow-control window (64 KiB),
//! or whose headers exceed one frame, is answered over HTTP/1.1: a server may ignore `Upgrade`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The client's connection preface, before its first SETTINGS frame.
const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// The largest frame payload a peer must accept before it says otherwise.
const MAX_FRAME: usize = 16_384;
/// HTTP/2's initial flow-control window: the most body that can be spliced in unasked.
const INITIAL_WINDOW: usize = 65_535;
/// Headers that describe an HTTP/1.1 connection and are not carried over HTTP/2.
const CONNECTION_HEADERS: [&str; 7] = [
    "connection",
    "upgrade",
    "http2-settings",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "host",
];

/// Middleware: answers a request that asks for `Upgrade: h2c` with `101` and serves the rest
/// of the connection as HTTP/2 with `inner`; every other request goes on unchanged.
pub async fn upgrade(State(inner): State<Router>, mut request: Request, next: Next) -> Response {
    if !wants_h2c(request.headers())
        || request
            .extensions()
            .get::<hyper::upgrade::OnUpgrade>()
            .is_none()
    {
        return next.run(request).await;
    }
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let bodiless = request.headers().get(header::TRANSFER_ENCODING).is_none();
    let Some(length) = length.or(bodiless.then_some(0)) else {
        return next.run(request).await;
    };
    if length > INITIAL_WINDOW {
        return next.run(request).await;
    }
    let on_upgrade = hyper::upgrade::on(&mut request);
    // The upgraded connection's requests come from the same peer (for the audit log).
    let peer = request
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .cloned();
    let (parts, body) = request.into_parts();
    let body = match axum::body::to_bytes(body, INITIAL_WINDOW).await {
        Ok(body) => body,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                format!("Cannot read the request: {e}"),
            )
                .into_response();
        }
    };
    let Some(stream_one) = stream_one_frames(&parts, &body) else {
        let request = Request::from_parts(parts, Body::from(body));
        return next.run(request).await;
    };
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(e) => {
                tracing::debug!("h2c upgrade abandoned: {e}");
                return;
            }
        };
        let io = Spliced::new(TokioIo::new(upgraded), stream_one);
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            if let Some(peer) = peer {
                request.extensions_mut().insert(peer);
            }
            tower::ServiceExt::oneshot(inner.clone(), request)
        });
        let served = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
            .serve_connection(TokioIo::new(io), service)
            .await;
        if let Err(e) = served {
            tracing::debug!("h2c connection ended: {e}");
        }
    });
    // Lower case, as Netty (under Vert.x) writes them: some clients match them exactly.
    let mut response = StatusCode::SWITCHING_PROTOCOLS.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("h2c"));
    response
}

/// An HTTP/1.1 request with `Upgrade: h2c` among its upgrades and `Connection: Upgrade`.
fn wants_h2c(headers: &HeaderMap) -> bool {
    let lists = |name: header::HeaderName, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    lists(header::UPGRADE, "h2c") && lists(header::CONNECTION, "upgrade")
}

/// The request as the HEADERS (and DATA) frames of stream 1, or `None` when its header block
/// does not fit one frame.
fn stream_one_frames(parts: &axum::http::request::Parts, body: &[u8]) -> Option<Vec<u8>> {
    let path = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let authority = parts
        .headers
        .get(header::HOST)
        .map(|h| h.as_bytes().to_vec())
        .unwrap_or_default();
    let mut block = Vec::new();
    literal(&mut block, b":method", parts.method.as_str().as_bytes());
    literal(&mut block, b":scheme", b"http");
    literal(&mut block, b":path", path.as_bytes());
    if !authority.is_empty() {
        literal(&mut block, b":authority", &authority);
    }
    for (name, value) in &parts.headers {
        if CONNECTION_HEADERS.contains(&name.as_str()) {
            continue;
        }
        // Over HTTP/2, `te` may only say `trailers`.
        if name == header::TE && value.as_bytes() != b"trailers" {
            continue;
        }
        literal(&mut block, name.as_str().as_bytes(), value.as_bytes());
    }
    if block.len() > MAX_FRAME {
        return None;
    }
    const END_STREAM: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;
    let mut frames = Vec::with_capacity(block.len() + body.len() + 64);
    let flags = if body.is_empty() {
        END_HEADERS | END_STREAM
    } else {
        END_HEADERS
    };
    frame(&mut frames, 0x1, flags, 1, &block);
    let mut chunks = body.chunks(MAX_FRAME).peekable();
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        frame(
            &mut frames,
            0x0,
            if last { END_STREAM } else { 0 },
            1,
            chunk,
        );
    }
    Some(frames)
}

/// One frame: 24-bit length, type, flags, stream id.
fn frame(out: &mut Vec<u8>, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
    let length = payload.len() as u32; // at most MAX_FRAME, checked by the callers
    out.extend_from_slice(&length.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
}

/// An HPACK literal header field without indexing, with a new name and no Huffman coding.
fn literal(out: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    out.push(0x00);
    string(out, name);
    string(out, value);
}

fn string(out: &mut Vec<u8>, bytes: &[u8]) {
    integer(out, bytes.len(), 7, 0x00);
    out.extend_from_slice(bytes);
}

/// An HPACK integer with an `n`-bit prefix (RFC 7541 §5.1).
fn integer(out: &mut Vec<u8>, mut value: usize, n: u32, first_bits: u8) {
    let max = (1usize << n) - 1;
    if value < max {
        out.push(first_bits | value as u8);
        return;
    }
    out.push(first_bits | max as u8);
    value -= max;
    while value >= 128 {
        out.push((value % 128) as u8 | 0x80);
        value /= 128;
    }
    out.push(value as u8);
}

/// The upgraded connection, whose input gets stream 1's frames after the client's preface and
/// first SETTINGS frame.
struct Spliced<T> {
    inner: T,
    state: Splice,
}

enum Splice {
    /// Reading the preface and first frame into the buffer; the frames wait.
    Reading {
        buffer: Vec<u8>,
        frames: Vec<u8>,
    },
    /// Handing out the buffered input with the frames in place, from this position.
    Draining {
        bytes: Vec<u8>,
        at: usize,
    },
    Passing,
}

impl<T> Spliced<T> {
    fn new(inner: T, frames: Vec<u8>) -> Spliced<T> {
        Spliced {
            inner,
            state: Splice::Reading {
                buffer: Vec::with_capacity(PREFACE.len() + 9 + 64),
                frames,
            },
        }
    }
}

/// Where the first frame after the preface ends, once `buffer` holds it; `Some(len)` of the
/// whole buffer when the input is not HTTP/2 (then nothing is spliced and the server says so).
fn first_frame_end(buffer: &[u8]) -> Option<usize> {
    let checked = buffer.len().min(PREFACE.len());
    if buffer[..checked] != PREFACE[..checked] {
        return Some(buffer.len());
    }
    let header = buffer.get(PREFACE.len()..PREFACE.len() + 9)?;
    let length =
        usize::from(header[0]) << 16 | usize::from(header[1]) << 8 | usize::from(header[2]);
    let end = PREFACE.len() + 9 + length;
    (buffer.len() >= end).then_some(end)
}

impl<T: AsyncRead + Unpin> AsyncRead for Spliced<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                Splice::Passing => return Pin::new(&mut this.inner).poll_read(cx, out),
                Splice::Draining { bytes, at } => {
                    let n = (bytes.len() - *at).min(out.remaining());
                    out.put_slice(&bytes[*at..*at + n]);
                    *at += n;
                    if *at == bytes.len() {
                        this.state = Splice::Passing;
                    }
                    return Poll::Ready(Ok(()));
                }
                Splice::Reading { buffer, frames } => {
                    if let Some(end) = first_frame_end(buffer) {
                        let mut bytes = Vec::with_capacity(buffer.len() + frames.len());
                        bytes.extend_from_slice(&buffer[..end]);
                        bytes.append(frames);
                        bytes.extend_from_slice(&buffer[end..]);
                        this.state = Splice::Draining { bytes, at: 0 };
                        continue;
                    }
                    let mut chunk = [0u8; 1024];
                    let mut read = ReadBuf::new(&mut chunk);
                    match Pin::new(&mut this.inner).poll_read(cx, &mut read) {
                        Poll::Pending => return Poll::Pending,
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Ready(Ok(())) if read.filled().is_empty() => {
                            // The client left before its preface: hand on what came, then EOF.
                            let bytes = std::mem::take(buffer);
                            this.state = if bytes.is_empty() {
                                Splice::Passing
                            } else {
                                Splice::Draining { bytes, at: 0 }
                            };
                            if matches!(this.state, Splice::Passing) {
                                return Poll::Ready(Ok(()));
                            }
                        }
                        Poll::Ready(Ok(())) => buffer.extend_from_slice(read.filled()),
                    }
                }
            }
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Spliced<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_use_their_prefix_then_seven_bit_groups() {
        let mut out = Vec::new();
        integer(&mut out, 10, 5, 0);
        integer(&mut out, 1337, 5, 0);
        // RFC 7541 C.1.1 and C.1.2.
        assert_eq!(out, [10, 31, 154, 10]);
    }

    #[test]
    fn a_post_becomes_headers_and_data_on_stream_one() {
        let request = axum::http::Request::post("/ksql?x=1")
            .header("host", "localhost:8088")
            .header("connection", "Upgrade, HTTP2-Settings")
            .header("upgrade", "h2c")
            .header("content-type", "application/json")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let body = vec![b'x'; MAX_FRAME + 10];
        let frames = stream_one_frames(&parts, &body).unwrap();
        // HEADERS without END_STREAM, then two DATA frames, the last ending the stream.
        let headers_len = usize::from(frames[1]) << 8 | usize::from(frames[2]);
        assert_eq!(
            (frames[3], frames[4], &frames[5..9]),
            (1, 0x4, &[0, 0, 0, 1][..])
        );
        let block = &frames[9..9 + headers_len];
        let text = String::from_utf8_lossy(block);
        assert!(
            text.contains(":path") && text.contains("/ksql?x=1"),
            "{text}"
        );
        assert!(
            !text.contains("upgrade") && !text.contains("connection"),
            "{text}"
        );
        let data = &frames[9 + headers_len..];
        assert_eq!((data[3], data[4]), (0, 0));
        let second = &data[9 + MAX_FRAME..];
        assert_eq!((second[2], second[3], second[4]), (10, 0, 0x1));
    }

    #[tokio::test]
    async fn the_frames_follow_the_preface_and_first_settings() {
        use tokio::io::AsyncReadExt;
        let mut input = PREFACE.to_vec();
        input.extend_from_slice(&[0, 0, 6, 0x4, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 100]);
        input.extend_from_slice(b"REST");
        let mut spliced = Spliced::new(&input[..], b"FRAMES".to_vec());
        let mut out = Vec::new();
        spliced.read_to_end(&mut out).await.unwrap();
        let settings_end = PREFACE.len() + 15;
        assert_eq!(&out[..settings_end], &input[..settings_end]);
        assert_eq!(&out[settings_end..], b"FRAMESREST");
    }

    /// Reads frames until `stream` ends; returns its header block and its body.
    async fn read_stream(socket: &mut tokio::net::TcpStream, stream: u32) -> (Vec<u8>, Vec<u8>) {
        use tokio::io::AsyncReadExt;
        let (mut block, mut body) = (Vec::new(), Vec::new());
        loop {
            let mut head = [0u8; 9];
            socket.read_exact(&mut head).await.unwrap();
            let length =
                usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let mut payload = vec![0u8; length];
            socket.read_exact(&mut payload).await.unwrap();
            let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            if id != stream {
                continue;
            }
            match head[3] {
                0x1 => block.extend_from_slice(&payload),
                0x0 => body.extend_from_slice(&payload),
                _ => {}
            }
            if head[4] & 0x1 != 0 {
                return (block, body);
            }
        }
    }

    #[tokio::test]
    async fn an_upgraded_connection_answers_its_first_request_on_stream_one_and_goes_on() {
        use std::sync::Arc;
        use tokio::io::{AsyncReadExt, AsyncWriteExt};

        let engine = crate::engine::Engine::new(Arc::new(crate::topics::MemoryTopicStore::new()));
        let app = crate::server::router(crate::server::state(engine, false));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
        let body = r#"{"ksql":"SHOW STREAMS;"}"#;
        let request = format!(
            "POST /ksql HTTP/1.1\r\nHost: {address}\r\nConnection: Upgrade, HTTP2-Settings\r\n\
             Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).await.unwrap();
        let mut answer = Vec::new();
        while !answer.ends_with(b"\r\n\r\n") {
            answer.push(socket.read_u8().await.unwrap());
        }
        let answer = String::from_utf8_lossy(&answer).to_lowercase();
        assert!(answer.starts_with("http/1.1 101"), "{answer}");
        assert!(answer.contains("upgrade: h2c"), "{answer}");

        let mut preface = PREFACE.to_vec();
        frame(&mut preface, 0x4, 0, 0, &[]);
        socket.write_all(&preface).await.unwrap();
        let (block, body) = read_stream(&mut socket, 1).await;
        // `:status: 200` is entry 8 of HPACK's static table.
        assert_eq!(block.first(), Some(&0x88), "{block:?}");
        let entities: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(entities[0]["@type"], "streams", "{entities}");

        // The connection goes on as HTTP/2: a second request on stream 3.
        let mut block = Vec::new();
        literal(&mut block, b":method", b"GET");
        literal(&mut block, b":scheme", b"http");
        literal(&mut block, b":path", b"/info");
        let mut request = Vec::new();
        frame(&mut request, 0x1, 0x4 | 0x1, 3, &block);
        socket.write_all(&request).await.unwrap();
        let (block, body) = read_stream(&mut socket, 3).await;
        assert_eq!(block.first(), Some(&0x88), "{block:?}");
        let info: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(info["KsqlServerInfo"]["serverStatus"], "RUNNING", "{info}");
    }
}
