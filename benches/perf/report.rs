//! Printing figures, budgets and verdicts.

use super::*;

/// One figure: what, its value, its budget, and whether it is met (`None`: no budget).
pub(crate) fn row(figure: &str, value: String, budget: &str, met: Option<bool>) {
    let verdict = match met {
        Some(true) => "PASS",
        Some(false) => "MISS",
        None => "",
    };
    let budget = if budget.is_empty() {
        String::new()
    } else {
        format!("budget {budget}")
    };
    println!("   {figure:<46} {value:>22}   {budget:<18} {verdict}");
    let _ = io::stdout().flush();
}

pub(crate) fn note(text: &str) {
    println!("     {text}");
    let _ = io::stdout().flush();
}

pub(crate) fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

pub(crate) fn median<T: Copy + PartialOrd>(values: &[T]) -> T {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v[v.len() / 2]
}

/// The value below which `p` (0..=1) of the values lie, nearest rank.
pub(crate) fn percentile(values: &[Duration], p: f64) -> Duration {
    let mut v = values.to_vec();
    v.sort();
    let rank = ((v.len() as f64 * p).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}
