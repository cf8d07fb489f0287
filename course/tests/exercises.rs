//! The workshops' checks tried both ways, one trial per exercise notebook
//! (`notebooks/en/workshops/`; the German ones share their code): each task's check must fail with its hint for every wrong
//! answer below, and pass with the solution's code (see `course::exercises`). A task
//! without a check cell or without a wrong answer here fails, and so does a check cell
//! emptied or stripped of its hint.
//!
//! One kernel tries all of a notebook's answers in turn, cut after its last check, so
//! that a trial takes about as long as one run of the notebook's first half.

use course::exercises::{WrongAnswer, trial};
use course::setup;
use kernel_setup::Layout;
use libtest_mimic::{Arguments, Trial};
use notebook_harness::{BusyLoad, FailureKind, Notebook, Runner};
use std::path::Path;
use std::sync::Arc;

/// The exercise notebooks tried, and their solutions (below `notebooks/`).
const EXERCISES: &str = "en/workshops";
const SOLUTIONS: &str = "en/solutions";

/// Wrong answers a learner might give, by exercise notebook (below `workshops/`).
const WRONG_ANSWERS: &[(&str, &[WrongAnswer])] = &[
    (
        "workshop_410_concurrency.ipynb",
        &[
            WrongAnswer {
                task: "fn get_pep(",
                code: r#"fn get_pep(site: &str, pep: &str) -> Result<String, String> {
    get_url(site, &format!("/pep{pep}/"), None)
}"#,
                hint: "get_pep(&site, \"0008\") should return the page at",
            },
            WrongAnswer {
                task: "struct PepDownloadThread",
                code: r#"struct PepDownloadThread {
    site: String,
    pep: String,
    contents: Result<String, String>,
}

impl PepDownloadThread {
    fn new(site: &str, pep: &str) -> PepDownloadThread {
        PepDownloadThread { site: site.to_owned(), pep: pep.to_owned(), contents: Ok(String::new()) }
    }

    fn run(&mut self) {
        self.contents = get_pep(&self.site, &self.pep);
    }

    fn start(self) -> thread::JoinHandle<PepDownloadThread> {
        thread::spawn(move || self)
    }
}"#,
                hint: "start() should call run() on the new thread",
            },
            WrongAnswer {
                task: "let pep_thread",
                code: r#"let pep_thread = PepDownloadThread::new(&site, "8").start();
let pep_thread = pep_thread.join().expect("the download thread panicked");"#,
                hint: "pep_thread should be the joined PepDownloadThread of PEP \"0008\"",
            },
            WrongAnswer {
                task: "fn get_peps(",
                code: r#"fn get_peps(site: &str, peps: &[&str]) -> Vec<Result<String, String>> {
    peps.iter()
        .map(|pep| PepDownloadThread::new(site, pep).start())
        .map(|thread| thread.join().expect("a download thread panicked").contents)
        .collect()
}"#,
                hint: "start every thread before you join the first",
            },
            WrongAnswer {
                task: "fn get_peps_with_workers(",
                code: r#"use concurrency_helpers::crossbeam_channel;

fn get_peps_with_workers(site: &str, peps: &[&str], workers: usize) -> Vec<Result<String, String>> {
    let (job_sender, jobs) = crossbeam_channel::unbounded();
    for job in peps.iter().enumerate() {
        job_sender.send(job).expect("the receiver is still here");
    }
    let (page_sender, pages) = crossbeam_channel::unbounded();
    thread::scope(|s| {
        for _ in 0..workers {
            let (jobs, page_sender) = (jobs.clone(), page_sender.clone());
            s.spawn(move || {
                for (position, pep) in jobs {
                    let _ = page_sender.send((position, get_pep(site, pep)));
                }
            });
        }
    });
    drop(page_sender);
    let mut ordered: Vec<(usize, Result<String, String>)> = pages.iter().collect();
    ordered.sort_by_key(|(position, _)| *position);
    ordered.into_iter().map(|(_, page)| page).collect()
}"#,
                hint: "do the workers stop? A loop over a channel, the jobs' or the pages', ends only once every sender of it is dropped",
            },
            WrongAnswer {
                task: "fn get_peps_with_workers(",
                code: r#"fn get_peps_with_workers(site: &str, peps: &[&str], workers: usize) -> Vec<Result<String, String>> {
    get_peps(site, peps)
}"#,
                hint: "start `workers` threads, not one per PEP",
            },
        ],
    ),
    (
        "workshop_420_multiprocessing.ipynb",
        &[
            WrongAnswer {
                task: "fn is_in_circle(",
                code: "fn is_in_circle(x: f64, y: f64) -> bool {\n    x + y < 1.0\n}",
                hint: "is_in_circle(0.5, 0.5) returned false, but x² + y² = 0.50 is at most 1",
            },
            WrongAnswer {
                task: "fn is_random_point_in_circle(",
                code: "fn is_random_point_in_circle(rng: &mut RandomStream) -> bool {\n    is_in_circle(random(), random())\n}",
                hint: "draw exactly one point from `rng` with get_random_point(rng)",
            },
            WrongAnswer {
                task: "fn compute_pi_sequentially(",
                code: r#"fn compute_pi_sequentially(num_iterations: u64, seed: u64) -> f64 {
    let mut rng = RandomStream::new(seed);
    let result: Vec<bool> = (0..num_iterations).map(|_| is_random_point_in_circle(&mut rng)).collect();
    result.iter().filter(|&&inside| inside).count() as f64 / result.len() as f64
}"#,
                hint: "expected 3.14 ± 0.01: return four times the share",
            },
            WrongAnswer {
                task: "fn compute_pi_sequentially(",
                code: r#"fn compute_pi_sequentially(num_iterations: u64, seed: u64) -> f64 {
    let mut rng = RandomStream::new(1);
    let result: Vec<bool> = (0..num_iterations).map(|_| is_random_point_in_circle(&mut rng)).collect();
    4.0 * result.iter().filter(|&&inside| inside).count() as f64 / result.len() as f64
}"#,
                hint: "seeds 1 and 2 gave the same estimate: make the stream with RandomStream::new(seed)",
            },
            WrongAnswer {
                task: "fn compute_pi_sequentially_2(",
                code: r#"fn compute_pi_sequentially_2(num_iterations: u64, seed: u64) -> f64 {
    let mut rng = RandomStream::new(seed);
    let mut num_points_in_circle = 0;
    for _ in 0..num_iterations {
        num_points_in_circle += u64::from(is_random_point_in_circle(&mut rng));
    }
    4.0 * (num_points_in_circle / num_iterations) as f64
}"#,
                hint: "the same seed gives the same points, so count those inside and return 4 × inside / all",
            },
            WrongAnswer {
                task: "fn bad_parallel_version(",
                code: r#"use rayon::prelude::*;

fn bad_parallel_version(num_iterations: u64, seed: u64) -> f64 {
    let points: Vec<(f64, f64)> = (0..num_iterations).map(|_| (random(), random())).collect();
    let inside = points
        .par_iter()
        .with_max_len(1)
        .filter(|&&(x, y)| is_in_circle(x, y))
        .count();
    4.0 * inside as f64 / num_iterations as f64
}"#,
                hint: "draw the points in order from RandomStream::new(seed) first",
            },
            WrongAnswer {
                task: "fn better_parallel_version(",
                code: r#"fn better_parallel_version(num_iterations: u64, num_threads: u64, seed: u64) -> f64 {
    let per_thread = num_iterations / num_threads;
    let estimates: Vec<f64> = thread::scope(|s| {
        let threads: Vec<_> = (0..num_threads)
            .map(|_| {
                s.spawn(move || {
                    let _span = timeline::work("chunk");
                    compute_pi_sequentially_2(per_thread, seed)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    estimates.iter().sum::<f64>() / num_threads as f64
}"#,
                hint: "give chunk t the seed seed + t",
            },
            WrongAnswer {
                task: "fn better_parallel_version(",
                code: r#"fn better_parallel_version(num_iterations: u64, num_threads: u64, seed: u64) -> f64 {
    let per_thread = num_iterations / num_threads;
    let estimates: Vec<f64> = thread::scope(|s| {
        let threads: Vec<_> = (0..num_threads)
            .map(|t| s.spawn(move || compute_pi_sequentially_2(per_thread, seed + t)))
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    estimates.iter().sum::<f64>() / num_threads as f64
}"#,
                hint: "marked 0 chunks on the timeline, expected 4",
            },
            WrongAnswer {
                task: "fn better_parallel_version(",
                code: r#"fn better_parallel_version(num_iterations: u64, num_threads: u64, seed: u64) -> f64 {
    let per_thread = num_iterations / num_threads;
    let estimates: Vec<f64> = thread::scope(|s| {
        let threads: Vec<_> = (0..num_threads)
            .map(|t| {
                s.spawn(move || {
                    let _ = timeline::work("chunk");
                    compute_pi_sequentially_2(per_thread, seed + t)
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    estimates.iter().sum::<f64>() / num_threads as f64
}"#,
                hint: "marked chunks that lasted no time: a span ends when its guard is dropped",
            },
            WrongAnswer {
                task: "fn better_parallel_version(",
                code: r#"fn better_parallel_version(num_iterations: u64, num_threads: u64, seed: u64) -> f64 {
    let per_thread = num_iterations / num_threads;
    let total: f64 = thread::scope(|s| {
        (0..num_threads)
            .map(|t| {
                s.spawn(move || {
                    let _span = timeline::work("chunk");
                    compute_pi_sequentially_2(per_thread, seed + t)
                })
            })
            .map(|thread| thread.join().unwrap())
            .sum()
    });
    total / num_threads as f64
}"#,
                hint: "ran its 4 chunks one after the other: spawn every chunk's thread before you join the first",
            },
        ],
    ),
];

fn main() {
    let args = Arguments::from_args();
    let layout = Layout::of_this_checkout();
    // Listing tests must not install anything.
    let runner = if args.list {
        None
    } else {
        Some(setup::installation(&layout).map(|i| Arc::new(Runner::new(i))))
    };
    let exercises = layout.notebooks().join(EXERCISES);
    let mut trials = Vec::new();
    for name in course::catalog::notebooks_under(&exercises) {
        let label = format!("answers::workshops/{}", name.display());
        let (runner, layout) = (runner.clone(), layout.clone());
        trials.push(Trial::test(label, move || {
            let runner = match runner.expect("set up unless listing") {
                Ok(runner) => runner,
                Err(setup_error) => return Err(setup_error.into()),
            };
            Ok(try_answers(&runner, &layout, &name)?)
        }));
    }
    BusyLoad::run_trials(&args, trials);
}

/// Runs the trial notebook of the exercise `name` (below `workshops/`): every wrong
/// answer, then the solution, of each task, each followed by its check.
fn try_answers(runner: &Runner, layout: &Layout, name: &Path) -> Result<(), String> {
    let label = name.display().to_string();
    let wrong = WRONG_ANSWERS
        .iter()
        .find(|(notebook, _)| Path::new(notebook) == name)
        .map(|(_, answers)| *answers)
        .ok_or_else(|| {
            format!("workshops/{label} has no wrong answers in course/tests/exercises.rs; add some for each of its tasks")
        })?;
    let exercise = Notebook::load(&layout.notebooks().join(EXERCISES).join(name))?;
    let solution = Notebook::load(&layout.notebooks().join(SOLUTIONS).join(name))?;
    let trial = trial(&exercise.json, &solution.json, wrong)
        .map_err(|e| format!("workshops/{label}: {e}"))?;
    // Three folders down from the checkout, as the notebooks are: their `:dep` path
    // (`../../../crate`) finds the support crate from there too.
    let folder = layout.root.join("target").join("exercises").join("en");
    std::fs::create_dir_all(&folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    let path = folder.join(name);
    std::fs::write(&path, trial.notebook.to_string())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let started = std::time::Instant::now();
    let executed = match runner.execute(&path, &Path::new("exercises").join(name)) {
        Ok(execution) => execution.notebook,
        // A failed check panics, and the kernel goes on to the next cell.
        Err(failure) if failure.kind == FailureKind::Panicked => match failure.executed {
            Some(executed) => *executed,
            None => return Err(failure.to_string()),
        },
        Err(failure) => {
            return Err(format!(
                "the trial of workshops/{label} did not run to its end: {failure}"
            ));
        }
    };
    println!(
        "workshops/{label}: {} checks tried in {:.1} s",
        trial.checks.len(),
        started.elapsed().as_secs_f64()
    );
    trial.judge(&executed).map_err(|e| {
        format!(
            "workshops/{label} (trial notebook {}):\n{e}",
            path.display()
        )
    })
}
