//! Recording what threads do: spans, their guards, and [`Timeline::record`].

use super::model::{Activity, Lane, Span, Timeline};
use std::borrow::Cow;
use std::cell::RefCell;
use std::fs::File;
use std::io::Write as _;
use std::os::fd::FromRawFd;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// How many spans one thread may record in one recording; the rest are only counted.
pub const MAX_SPANS_PER_THREAD: usize = 200_000;

/// Starts a span of work, which ends when the returned guard is dropped.
///
/// ```
/// use concurrency_helpers::timeline;
///
/// fn compute() -> u64 {
///     let _span = timeline::work("compute");
///     (0..1000).sum()
/// }
/// # assert_eq!(compute(), 499_500);
/// ```
pub fn work(label: impl Into<Cow<'static, str>>) -> SpanGuard {
    SpanGuard::start(label, Activity::Work)
}

/// Starts a span of waiting (for a lock, a barrier, a message), which ends when the
/// returned guard is dropped. [`waiting`] is the shorter form for one blocking call.
pub fn wait(label: impl Into<Cow<'static, str>>) -> SpanGuard {
    SpanGuard::start(label, Activity::Wait)
}

/// Runs `f` as a span of work and returns its result.
pub fn working<T>(label: impl Into<Cow<'static, str>>, f: impl FnOnce() -> T) -> T {
    let _span = work(label);
    f()
}

/// Runs the blocking call `f` as a span of waiting and returns its result.
///
/// ```
/// use concurrency_helpers::timeline;
/// use std::sync::Mutex;
///
/// let counter = Mutex::new(0);
/// *timeline::waiting("lock", || counter.lock().unwrap()) += 1;
/// # assert_eq!(*counter.lock().unwrap(), 1);
/// ```
pub fn waiting<T>(label: impl Into<Cow<'static, str>>, f: impl FnOnce() -> T) -> T {
    let _span = wait(label);
    f()
}

/// A span in progress; it is recorded when dropped. Made by [`work`] and [`wait`].
#[must_use = "a span ends when its guard is dropped: bind it with `let _span = ...`"]
pub struct SpanGuard {
    /// Nothing when no recording was running at the start.
    open: Option<OpenSpan>,
}

struct OpenSpan {
    recording: u64,
    label: Cow<'static, str>,
    activity: Activity,
    start: Instant,
}

impl SpanGuard {
    fn start(label: impl Into<Cow<'static, str>>, activity: Activity) -> SpanGuard {
        let recording = registry().active_id.load(Ordering::Acquire);
        SpanGuard {
            open: (recording != 0).then(|| OpenSpan {
                recording,
                label: label.into(),
                activity,
                start: Instant::now(),
            }),
        }
    }
}

impl Drop for SpanGuard {
    fn drop(&mut self) {
        if let Some(open) = self.open.take() {
            let end = Instant::now();
            // A span that outlives its recording belongs to no picture.
            if registry().active_id.load(Ordering::Acquire) == open.recording {
                push_span(open, end);
            }
        }
    }
}

/// The recording in progress, shared by every thread that records into it.
struct Recording {
    id: u64,
    caller: thread::ThreadId,
    origin: Instant,
    lanes: Mutex<Vec<Arc<LaneBuffer>>>,
}

/// One thread's spans, locked only by that thread until the recording ends, so
/// threads never wait for each other to record.
struct LaneBuffer {
    /// The thread's name; the thread that called `record` is `caller` when unnamed
    /// (as evcxr's cell thread is).
    thread_name: Option<String>,
    origin: Instant,
    spans: Mutex<Vec<Span>>,
    dropped: AtomicU64,
}

/// The recording in progress, and the numbers that tell recordings apart.
struct Registry {
    /// The recording's id, 0 while nothing records; a span checks it without a lock.
    active_id: AtomicU64,
    active: Mutex<Option<Arc<Recording>>>,
    next_id: AtomicU64,
}

/// The process's one registry.
///
/// evcxr compiles every notebook cell into a library of its own, and each library
/// holds its own copy of this crate's statics: a thread started in one cell runs
/// that cell's copy, and a registry in a plain static would hide its spans from a
/// recording started in a later cell. So the first copy to need a registry leaks
/// one and writes its address into a memfd named after this version of the
/// crate; every other copy finds that memfd in `/proc/self/fd` and uses the same
/// registry.
fn registry() -> &'static Registry {
    static HERE: OnceLock<&'static Registry> = OnceLock::new();
    HERE.get_or_init(|| process_registry().unwrap_or_else(|| Box::leak(Box::default())))
}

impl Default for Registry {
    fn default() -> Self {
        Registry {
            active_id: AtomicU64::new(0),
            active: Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }
}

/// Change this whenever [`Registry`], [`Recording`] or [`LaneBuffer`] change: copies of
/// the crate with another version never share a registry.
const REGISTRY_VERSION: u32 = 1;

/// The memfd's name: the registry's version and the sizes of what it shares, so that
/// copies of the crate built from other source (a kernel that loaded an edited crate)
/// do not read one another's structures. (A digest of the source would be better, but
/// evcxr's cache keeps build scripts compiled from older source.)
fn registry_name() -> String {
    format!(
        "concurrency-helpers-timeline-v{REGISTRY_VERSION}-{}-{}-{}",
        size_of::<Registry>(),
        size_of::<Recording>(),
        size_of::<LaneBuffer>()
    )
}

/// The registry that another copy of this crate made, or a new one made findable;
/// `None` where memfds or `/proc` are missing (then each copy keeps its own).
fn process_registry() -> Option<&'static Registry> {
    let name = registry_name();
    if let Some(found) = find_registry(&name) {
        return Some(found);
    }
    let c_name = std::ffi::CString::new(name).ok()?;
    // SAFETY: memfd_create reads a NUL-terminated name and returns a new descriptor
    // or -1; the descriptor is owned here from then on.
    let fd = unsafe { libc::memfd_create(c_name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just returned by memfd_create and nothing else owns it.
    let file = unsafe { File::from_raw_fd(fd) };
    let registry: &'static Registry = Box::leak(Box::default());
    let address = registry as *const Registry as usize;
    (&file).write_all(&address.to_ne_bytes()).ok()?;
    // The descriptor stays open for the life of the process: it is how other copies
    // find the registry.
    std::mem::forget(file);
    Some(registry)
}

/// The registry whose address the memfd called `name` holds, if one exists.
fn find_registry(name: &str) -> Option<&'static Registry> {
    let link = format!("/memfd:{name} (deleted)");
    std::fs::read_dir("/proc/self/fd")
        .ok()?
        .flatten()
        .filter(|entry| {
            std::fs::read_link(entry.path()).is_ok_and(|target| target.as_os_str() == &*link)
        })
        .find_map(|entry| {
            let mut address = [0; size_of::<usize>()];
            let file = File::open(entry.path()).ok()?;
            file.read_exact_at(&mut address, 0).ok()?;
            let address = usize::from_ne_bytes(address);
            // SAFETY: a copy of this crate built from the same source (the memfd's name
            // says so) leaked a Registry at this address in this process, and never
            // frees it.
            (address != 0).then(|| unsafe { &*(address as *const Registry) })
        })
}

thread_local! {
    static LANE: RefCell<Option<(u64, Arc<LaneBuffer>)>> = const { RefCell::new(None) };
}

fn push_span(open: OpenSpan, end: Instant) {
    // Without a thread-local (a thread that is exiting) the span is lost; that is all.
    let _ = LANE.try_with(|cached| {
        let mut cached = cached.borrow_mut();
        if cached.as_ref().is_none_or(|(id, _)| *id != open.recording) {
            *cached = register_lane(open.recording).map(|lane| (open.recording, lane));
        }
        let Some((_, lane)) = cached.as_ref() else {
            return;
        };
        let mut spans = lane.spans.lock().unwrap_or_else(PoisonError::into_inner);
        if spans.len() >= MAX_SPANS_PER_THREAD {
            lane.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        spans.push(Span {
            label: open.label,
            activity: open.activity,
            start: open.start.saturating_duration_since(lane.origin),
            end: end.saturating_duration_since(lane.origin),
        });
    });
}

/// A new lane for this thread in recording `id`, unless that recording has ended.
fn register_lane(id: u64) -> Option<Arc<LaneBuffer>> {
    let recording = registry()
        .active
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
        .filter(|r| r.id == id)?;
    let lane = Arc::new(LaneBuffer {
        thread_name: {
            let current = thread::current();
            let name = current.name().map(str::to_owned);
            name.or_else(|| (current.id() == recording.caller).then(|| "caller".to_owned()))
        },
        origin: recording.origin,
        spans: Mutex::new(Vec::new()),
        dropped: AtomicU64::new(0),
    });
    recording
        .lanes
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::clone(&lane));
    Some(lane)
}

/// Ends the recording when `record` returns or its closure panics, so a failed cell
/// does not block the next recording.
struct Stop(Arc<Recording>);

impl Drop for Stop {
    fn drop(&mut self) {
        let registry = registry();
        let _ =
            registry
                .active_id
                .compare_exchange(self.0.id, 0, Ordering::AcqRel, Ordering::Acquire);
        let mut active = registry
            .active
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if active.as_ref().is_some_and(|r| r.id == self.0.id) {
            *active = None;
        }
    }
}

/// What [`Timeline::record`] returns: the recorded code's value and the picture. As a
/// notebook cell's value it shows the picture.
#[derive(Debug, Clone)]
pub struct Recorded<R> {
    /// What the recorded code returned.
    pub value: R,
    /// What the threads did meanwhile.
    pub timeline: Timeline,
}

impl<R> Recorded<R> {
    /// Shows the picture when this is the value of a notebook cell.
    pub fn evcxr_display(&self) {
        self.timeline.evcxr_display();
    }
}

impl Timeline {
    /// Runs `f` and records the spans that any thread ends while it runs; returns what
    /// `f` returned along with the picture.
    ///
    /// Spans still open when `f` returns (in threads it did not join) are left out.
    /// Threads started in earlier notebook cells are recorded too.
    ///
    /// # Panics
    /// When another recording is in progress: spans could not tell which one they
    /// belong to. A panic in `f` ends the recording and goes on to the caller.
    pub fn record<R>(title: impl Into<String>, f: impl FnOnce() -> R) -> Recorded<R> {
        let recording = {
            let registry = registry();
            let mut active = registry
                .active
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            assert!(
                active.is_none(),
                "Timeline::record: another timeline is being recorded; record one at a time"
            );
            let recording = Arc::new(Recording {
                id: registry.next_id.fetch_add(1, Ordering::Relaxed),
                caller: thread::current().id(),
                origin: Instant::now(),
                lanes: Mutex::new(Vec::new()),
            });
            *active = Some(Arc::clone(&recording));
            registry.active_id.store(recording.id, Ordering::Release);
            recording
        };
        let stop = Stop(Arc::clone(&recording));
        let value = f();
        let duration = recording.origin.elapsed();
        drop(stop);
        let buffers = std::mem::take(
            &mut *recording
                .lanes
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        Recorded {
            value,
            timeline: Timeline::from_buffers(title.into(), duration, buffers),
        }
    }

    fn from_buffers(title: String, duration: Duration, buffers: Vec<Arc<LaneBuffer>>) -> Timeline {
        let mut dropped = 0;
        let mut lanes: Vec<(Option<String>, Vec<Span>)> = buffers
            .iter()
            .map(|buffer| {
                dropped += buffer.dropped.load(Ordering::Relaxed);
                let mut spans = std::mem::take(
                    &mut *buffer.spans.lock().unwrap_or_else(PoisonError::into_inner),
                );
                // Spans are pushed as they end, so inner ones come before outer ones.
                spans.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
                (buffer.thread_name.clone(), spans)
            })
            .filter(|(_, spans)| !spans.is_empty())
            .collect();
        lanes.sort_by_key(|(_, spans)| spans[0].start);
        let mut unnamed = 0;
        let lanes = lanes
            .into_iter()
            .map(|(name, spans)| Lane {
                name: name.unwrap_or_else(|| {
                    unnamed += 1;
                    format!("thread {unnamed}")
                }),
                spans,
            })
            .collect();
        Timeline {
            title,
            lanes,
            duration,
            dropped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_copy_of_the_crate_finds_this_registry() {
        let ours = registry() as *const Registry;
        // What a copy in another notebook cell does on its first span.
        let found = find_registry(&registry_name()).expect("the registry is findable");
        assert_eq!(found as *const Registry, ours);
        assert!(find_registry("concurrency-helpers-timeline-other-source").is_none());
    }
}
