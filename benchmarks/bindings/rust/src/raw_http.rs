//! The Rust floor of the bindings benchmark: one keep-alive HTTP/1.1
//! connection on `std::net::TcpStream` doing what any client must — send the
//! request, read the whole answer (headers, then Content-Length bytes or a
//! chunked body). No TLS, no redirects: it talks to the benchmark's nginx.
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;

pub struct Client {
    reader: BufReader<TcpStream>,
    request: Vec<u8>,
    body: Vec<u8>,
    line: String,
}

fn bad(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

impl Client {
    /// `url` is the API base (http://HOST:PORT/v1); the request goes to its /chat/completions.
    pub fn connect(url: &str, api_key: &str, body: &str) -> io::Result<Client> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| bad(format!("not an http:// URL: {url}")))?;
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let path = format!("/{}/chat/completions", path.trim_end_matches('/')).replace("//", "/");
        let stream = TcpStream::connect(authority)?;
        stream.set_nodelay(true)?;
        let mut request = format!(
            "POST {path} HTTP/1.1\r\nHost: {authority}\r\nAuthorization: Bearer {api_key}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        )
        .into_bytes();
        request.extend_from_slice(body.as_bytes());
        Ok(Client {
            reader: BufReader::new(stream),
            request,
            body: Vec::new(),
            line: String::new(),
        })
    }

    /// One request and its whole answer; returns the body's length.
    pub fn call(&mut self) -> io::Result<usize> {
        self.reader.get_mut().write_all(&self.request)?;
        self.line.clear();
        self.reader.read_line(&mut self.line)?;
        if !self.line.starts_with("HTTP/1.1 200") {
            return Err(bad(format!(
                "unexpected status line {:?}",
                self.line.trim_end()
            )));
        }
        let mut length = None;
        let mut chunked = false;
        loop {
            self.line.clear();
            if self.reader.read_line(&mut self.line)? == 0 {
                return Err(bad("the connection closed in the headers".to_owned()));
            }
            let header = self.line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().ok();
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    chunked = value.trim().eq_ignore_ascii_case("chunked");
                }
            }
        }
        self.body.clear();
        if chunked {
            loop {
                self.line.clear();
                self.reader.read_line(&mut self.line)?;
                let size = usize::from_str_radix(self.line.trim_end(), 16)
                    .map_err(|_| bad(format!("bad chunk size {:?}", self.line)))?;
                let start = self.body.len();
                self.body.resize(start + size + 2, 0);
                self.reader.read_exact(&mut self.body[start..])?;
                self.body.truncate(start + size);
                if size == 0 {
                    break;
                }
            }
        } else {
            let length =
                length.ok_or_else(|| bad("an answer without Content-Length".to_owned()))?;
            self.body.resize(length, 0);
            self.reader.read_exact(&mut self.body)?;
        }
        Ok(self.body.len())
    }
}
