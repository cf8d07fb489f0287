//! Judging the isolation checks the classroom client made between two learners.

use crate::limits::values_limits;
use course::class::report::Observation;
use kernel_setup::Layout;
use std::collections::BTreeMap;

/// Each check observed what it should: learner a reaches nothing of b's, a stranger
/// nothing at all, a's kernel runs as a with the values file's limits, and everything
/// listens on loopback only.
pub fn check_isolation(
    checks: &BTreeMap<String, Observation>,
    layout: &Layout,
    problems: &mut Vec<String>,
) {
    if checks.is_empty() {
        problems.push("no isolation checks were made".to_owned());
        return;
    }
    let mut expect = |name: &str, ok: &dyn Fn(&Observation) -> bool| match checks.get(name) {
        Some(found) if ok(found) => {}
        found => problems.push(format!("{name}: got {found:?}")),
    };
    for name in checks.keys().filter(|name| name.contains("on b's")) {
        let denied: &[u16] = if name.contains("hub API") {
            &[403, 404]
        } else {
            &[403]
        };
        expect(name, &|v| v.is_status(denied));
    }
    expect("a's token on a's own contents", &|v| v.is_status(&[200]));
    // Either refused, or the login page.
    let to_login = |v: &Observation| {
        v.text()
            .is_some_and(|s| s.starts_with("403 ") || s == "200 /hub/login")
    };
    for path in [
        "/hub/home",
        "/hub/api/users",
        "/user/classcheck-a/api/contents",
        "/user/classcheck-a/lab",
    ] {
        expect(&format!("no login on {path}"), &to_login);
    }
    expect("unknown learner logs in", &|v| v.is_status(&[403]));
    expect("wrong password", &|v| v.is_status(&[403]));
    expect("a's kernel reads b's home", &|v| {
        v.text() == Some("PermissionDenied")
    });
    let uid = checks.get("a's uid").cloned();
    expect("a's kernel runs as uid", &|v| Some(v) == uid.as_ref());
    let (memory, cpus) = match values_limits(layout) {
        Ok(limits) => limits,
        Err(e) => {
            problems.push(e);
            return;
        }
    };
    let mut expect = |name: &str, ok: &dyn Fn(&Observation) -> bool| match checks.get(name) {
        Some(found) if ok(found) => {}
        found => problems.push(format!("{name}: got {found:?}")),
    };
    expect("MEM_LIMIT in a's kernel", &|v| {
        v.text() == Some(memory.as_str())
    });
    expect("CPU_LIMIT in a's kernel", &|v| {
        v.text().and_then(|s| s.parse::<f64>().ok()) == Some(cpus)
    });
    expect("listening", &|v| match v {
        Observation::Addresses(addresses) => {
            addresses.len() >= 3 && addresses.iter().all(|a| a.starts_with("127.0.0.1:"))
        }
        _ => false,
    });
}
