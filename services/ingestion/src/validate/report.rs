//! The rejection report: what validation removed, counted and explained in
//! the message that goes back to the exporter.

use std::fmt::{self, Write as _};

use super::fault::{Check, Fault};

/// Maximum number of reasons spelled out in [`Rejected::message`].
pub const MAX_REASONS: usize = 5;

/// What validation removed from a request.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Rejected {
    /// Spans, log records or data points removed.
    pub items: i64,
    /// The first few reasons, separated by `"; "`, e.g.
    /// `resource_spans[0].scope_spans[1].spans[3].trace_id: must be 16 bytes, got 0`.
    /// Non-empty whenever anything was removed, including a metric without
    /// data, which counts 0 items.
    pub message: String,
}

impl Rejected {
    /// True when validation removed nothing.
    pub fn is_empty(&self) -> bool {
        self.items == 0 && self.message.is_empty()
    }
}

/// The report being built during one validation.
#[derive(Default)]
pub(super) struct Report {
    items: i64,
    reasons: usize,
    message: String,
}

impl Report {
    /// Records one rejection of `items` items; `path` writes where the
    /// rejected item is (the fault's own path follows it).
    pub(super) fn reject(
        &mut self,
        items: usize,
        path: impl FnOnce(&mut String) -> fmt::Result,
        fault: &Fault,
    ) {
        self.items = self
            .items
            .saturating_add(i64::try_from(items).unwrap_or(i64::MAX));
        self.reasons += 1;
        if self.reasons <= MAX_REASONS {
            if !self.message.is_empty() {
                self.message.push_str("; ");
            }
            // Writing to a String cannot fail.
            let _ = path(&mut self.message);
            let _ = write!(self.message, "{fault}");
        }
    }

    /// Whether an item that `check`ed as `checked` stays; a rejected one
    /// counts 1 item, reported under `path`.
    pub(super) fn keep(
        &mut self,
        checked: Check,
        path: impl FnOnce(&mut String) -> fmt::Result,
    ) -> bool {
        match checked {
            Ok(()) => true,
            Err(fault) => {
                self.reject(1, path, &fault);
                false
            }
        }
    }

    pub(super) fn finish(mut self) -> Rejected {
        if self.reasons > MAX_REASONS {
            let _ = write!(self.message, "; and {} more", self.reasons - MAX_REASONS);
        }
        Rejected {
            items: self.items,
            message: self.message,
        }
    }
}

/// Keeps the valid items of `items`, reporting each invalid one (1 item)
/// under `path` and its index.
pub(super) fn retain_valid<T>(
    items: &mut Vec<T>,
    report: &mut Report,
    check: impl Fn(&T) -> Check,
    path: impl Fn(&mut String, usize) -> fmt::Result,
) {
    let mut next = 0;
    items.retain(|item| {
        let i = next;
        next += 1;
        report.keep(check(item), |m| path(m, i))
    });
}
