//! A local stand-in for <https://peps.python.org>, so that the workshop's downloads
//! work without internet and take a predictable time (feature `http`).
//!
//! [`PepSite::start`] serves every PEP in [`PEPS`] at `/pep-NNNN/`, as the real site
//! does, after a response delay that plays the network; anything else is a 404.
//! Each request is answered on a thread of its own, so concurrent downloads overlap
//! as they would against a real server.
//!
//! ```
//! use concurrency_helpers::PepSite;
//! use concurrency_helpers::ureq;
//! use std::time::Duration;
//!
//! let site = PepSite::start(Duration::from_millis(10)).unwrap();
//! let page = ureq::get(format!("{}/pep-0008/", site.url()))
//!     .call()
//!     .unwrap()
//!     .body_mut()
//!     .read_to_string()
//!     .unwrap();
//! assert!(page.contains("Style Guide for Python Code"));
//! assert!(page.len() > 100_000);
//! ```

use std::io;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

/// The PEPs the site serves: number, title and the page size in bytes (about that of
/// the real page).
pub const PEPS: &[(u32, &str, usize)] = &[
    (1, "PEP Purpose and Guidelines", 95_000),
    (7, "Style Guide for C Code", 45_000),
    (8, "Style Guide for Python Code", 120_000),
    (20, "The Zen of Python", 25_000),
    (257, "Docstring Conventions", 40_000),
    (287, "reStructuredText Docstring Format", 55_000),
    (343, "The \"with\" Statement", 70_000),
    (
        371,
        "Addition of the multiprocessing package to the standard library",
        40_000,
    ),
    (484, "Type Hints", 110_000),
    (492, "Coroutines with async and await syntax", 100_000),
    (498, "Literal String Interpolation", 50_000),
    (572, "Assignment Expressions", 85_000),
    (634, "Structural Pattern Matching: Specification", 90_000),
    (
        703,
        "Making the Global Interpreter Lock Optional in CPython",
        100_000,
    ),
    (3107, "Function Annotations", 35_000),
    (
        3148,
        "futures - execute computations asynchronously",
        45_000,
    ),
    (
        3156,
        "Asynchronous IO Support Rebooted: the \"asyncio\" Module",
        110_000,
    ),
    (3333, "Python Web Server Gateway Interface v1.0.1", 95_000),
];

/// A running local PEP site; it stops when dropped.
pub struct PepSite {
    server: Arc<tiny_http::Server>,
    acceptor: Option<thread::JoinHandle<()>>,
    url: String,
    delay: Duration,
}

impl PepSite {
    /// Starts the site on a free port of 127.0.0.1; every answer comes after `delay`.
    ///
    /// # Errors
    /// When no port can be bound or no thread started.
    pub fn start(delay: Duration) -> io::Result<PepSite> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the PEP site is not listening on an IP address"))?;
        let server = Arc::new(server);
        let acceptor = thread::Builder::new().name("pep-site".to_owned()).spawn({
            let server = Arc::clone(&server);
            move || {
                // Ends when `drop` unblocks the server.
                for request in server.incoming_requests() {
                    let answer = move || respond(request, delay);
                    if let Err(e) = thread::Builder::new().spawn(answer) {
                        eprintln!("pep-site: cannot start a thread to answer a request: {e}");
                    }
                }
            }
        })?;
        Ok(PepSite {
            server,
            acceptor: Some(acceptor),
            url: format!("http://{address}"),
            delay,
        })
    }

    /// The site's address, e.g. `http://127.0.0.1:41873`; pages are at `/pep-0008/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How long each answer takes.
    pub fn delay(&self) -> Duration {
        self.delay
    }
}

impl std::fmt::Debug for PepSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PepSite")
            .field("url", &self.url)
            .field("delay", &self.delay)
            .finish_non_exhaustive()
    }
}

impl Drop for PepSite {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn respond(request: tiny_http::Request, delay: Duration) {
    thread::sleep(delay);
    let response = match pep_number(request.url()).and_then(pep_page) {
        Some(page) => tiny_http::Response::from_string(page).with_header(
            "Content-Type: text/html; charset=utf-8"
                .parse::<tiny_http::Header>()
                .expect("a valid header"),
        ),
        None => tiny_http::Response::from_string(format!("404: no page at {}", request.url()))
            .with_status_code(404),
    };
    // The client may have given up (a timeout): then nobody is left to tell.
    let _ = request.respond(response);
}

/// `"/pep-0008/"` (or `"/pep-0008"`) to 8.
fn pep_number(path: &str) -> Option<u32> {
    let digits = path.strip_prefix("/pep-")?.trim_end_matches('/');
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The page of PEP `number`, the same on every call, or `None` if the site has none.
///
/// ```
/// use concurrency_helpers::pep_page;
///
/// assert!(pep_page(20).unwrap().contains("The Zen of Python"));
/// assert_eq!(pep_page(20), pep_page(20));
/// assert_eq!(pep_page(9999), None);
/// ```
pub fn pep_page(number: u32) -> Option<String> {
    let &(_, title, size) = PEPS.iter().find(|(n, _, _)| *n == number)?;
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">\
         <title>PEP {number} – {title} | peps.python.org</title></head>\n<body>\n\
         <h1>PEP {number} – {title}</h1>\n"
    );
    let mut words = Words(u64::from(number).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    while html.len() < size {
        html.push_str("<p>");
        for _ in 0..60 {
            html.push_str(words.next_word());
            html.push(' ');
        }
        html.push_str("</p>\n");
    }
    html.push_str("</body>\n</html>\n");
    Some(html)
}

/// Deterministic filler text (xorshift over a small vocabulary).
struct Words(u64);

impl Words {
    fn next_word(&mut self) -> &'static str {
        const VOCABULARY: [&str; 16] = [
            "thread",
            "lock",
            "the",
            "interpreter",
            "module",
            "should",
            "be",
            "code",
            "style",
            "readability",
            "counts",
            "a",
            "function",
            "proposal",
            "python",
            "of",
        ];
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        VOCABULARY[(self.0 % VOCABULARY.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn get(url: &str) -> Result<String, ureq::Error> {
        ureq::get(url).call()?.body_mut().read_to_string()
    }

    #[test]
    fn paths_name_four_digit_peps() {
        assert_eq!(pep_number("/pep-0008/"), Some(8));
        assert_eq!(pep_number("/pep-3333"), Some(3333));
        assert_eq!(pep_number("/pep-8/"), None);
        assert_eq!(pep_number("/pep-00a8/"), None);
        assert_eq!(pep_number("/"), None);
    }

    #[test]
    fn pages_have_their_sizes() {
        for &(number, title, size) in PEPS {
            let page = pep_page(number).unwrap();
            assert!(page.contains(title));
            assert!(
                page.len() >= size && page.len() < size + 1_000,
                "PEP {number}"
            );
        }
    }

    #[test]
    fn unknown_peps_are_404() {
        let site = PepSite::start(Duration::ZERO).unwrap();
        match get(&format!("{}/pep-9999/", site.url())) {
            Err(ureq::Error::StatusCode(404)) => {}
            other => panic!("expected a 404, got {other:?}"),
        }
    }

    #[test]
    fn concurrent_requests_overlap() {
        let site = PepSite::start(Duration::from_millis(200)).unwrap();
        let started = Instant::now();
        thread::scope(|s| {
            for pep in ["0001", "0008", "0020", "0484"] {
                let url = format!("{}/pep-{pep}/", site.url());
                s.spawn(move || get(&url).unwrap());
            }
        });
        // Four answers of 0.2 s each arrive together, not one after another.
        assert!(started.elapsed() < Duration::from_millis(700));
    }

    #[test]
    fn stops_when_dropped() {
        let site = PepSite::start(Duration::ZERO).unwrap();
        let url = format!("{}/pep-0020/", site.url());
        assert!(get(&url).is_ok());
        drop(site);
        assert!(get(&url).is_err());
    }
}
