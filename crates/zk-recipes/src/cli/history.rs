//! The shell's numbered command history, kept as zkCli keeps it: each line read gets the
//! next number (the one the prompt shows) before it runs; `history` lists the current
//! number and the ten before it; `redo N` runs line N again, and the redone line takes the
//! `redo`'s own number.

use std::collections::BTreeMap;

/// How many earlier lines `history` lists besides the current one.
const LISTED_BEFORE: usize = 10;

/// Numbered lines of one shell session.
#[derive(Debug, Clone, Default)]
pub struct History {
    lines: BTreeMap<usize, String>,
    current: usize,
}

impl History {
    /// An empty history; the first line gets number 0.
    pub fn new() -> History {
        History::default()
    }

    /// The number of the line being run, or of the next one (zkCli's prompt number).
    pub fn current(&self) -> usize {
        self.current
    }

    /// Records `line` under the current number, before it runs.
    pub fn record(&mut self, line: &str) {
        self.lines.insert(self.current, line.to_owned());
    }

    /// Moves on to the next number, after a recorded line ran.
    pub fn advance(&mut self) {
        self.current += 1;
    }

    /// What `history` prints: `N - line` for the current number and the ten before it
    /// (`null` for a number without a line, as when no line was recorded at all).
    pub fn listing(&self) -> String {
        let first = self.current.saturating_sub(LISTED_BEFORE);
        (first..=self.current)
            .map(|number| {
                let line = self.lines.get(&number).map_or("null", String::as_str);
                format!("{number} - {line}\n")
            })
            .collect()
    }

    /// Resolves `redo <number>`: the earlier line to run again, which replaces the `redo`
    /// in the history. The number is read as Java's `Integer.decode` reads it (`0x1f`,
    /// `#1f`, `017` octal). Errors are the messages zkCli prints.
    pub fn redo(&mut self, number: &str) -> Result<String, String> {
        let Some(number) = decode_int(number) else {
            return Err(format!(
                "java.lang.NumberFormatException: For input string: \"{number}\""
            ));
        };
        let line = usize::try_from(number)
            .ok()
            .filter(|&number| number < self.current)
            .and_then(|number| self.lines.get(&number))
            .ok_or_else(|| "Command index out of range".to_owned())?
            .clone();
        if line.split_whitespace().next() == Some("redo") {
            return Err("No redoing redos".to_owned());
        }
        self.record(&line);
        Ok(line)
    }
}

/// An integer as Java's `Integer.decode` reads it: an optional sign, then `0x`, `0X` or `#`
/// for hexadecimal, a leading `0` for octal, decimal otherwise.
pub fn decode_int(text: &str) -> Option<i64> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
        .or_else(|| unsigned.strip_prefix('#'))
    {
        (16, hex)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (8, &unsigned[1..])
    } else {
        (10, unsigned)
    };
    if digits.is_empty() || digits.starts_with(['-', '+']) {
        return None;
    }
    let value = i64::from_str_radix(digits, radix).ok()?;
    let value = if negative { -value } else { value };
    i32::try_from(value).ok().map(i64::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn history(lines: &[&str]) -> History {
        let mut history = History::new();
        for line in lines {
            history.record(line);
            history.advance();
        }
        history
    }

    #[test]
    fn listing_shows_the_current_number_and_ten_before() {
        assert_eq!(History::new().listing(), "0 - null\n");
        let mut shell = history(&["ls /", "get /a"]);
        shell.record("history");
        assert_eq!(shell.listing(), "0 - ls /\n1 - get /a\n2 - history\n");
        let lines: Vec<String> = (0..14).map(|i| format!("ls /{i}")).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        let mut long = history(&refs);
        long.record("history");
        let listed = long.listing();
        assert!(listed.starts_with("4 - ls /4\n"), "{listed}");
        assert!(listed.ends_with("14 - history\n"));
        assert_eq!(listed.lines().count(), 11);
    }

    #[test]
    fn redo_replaces_its_own_entry() {
        let mut shell = history(&["ls /", "history"]);
        shell.record("redo 0");
        assert_eq!(shell.redo("0"), Ok("ls /".to_owned()));
        shell.advance();
        assert_eq!(
            shell.listing(),
            "0 - ls /\n1 - history\n2 - ls /\n3 - null\n"
        );
        shell.record("redo 9");
        assert_eq!(shell.redo("9"), Err("Command index out of range".into()));
        assert_eq!(
            shell.redo("3"),
            Err("Command index out of range".into()),
            "the current line cannot be redone"
        );
        shell.advance();
        shell.record("redo 3");
        assert_eq!(shell.redo("3"), Err("No redoing redos".into()));
        assert_eq!(shell.redo("-1"), Err("Command index out of range".into()));
        assert!(shell
            .redo("x")
            .unwrap_err()
            .contains("For input string: \"x\""));
    }

    #[test]
    fn numbers_decode_like_java() {
        assert_eq!(decode_int("12"), Some(12));
        assert_eq!(decode_int("0x1f"), Some(31));
        assert_eq!(decode_int("#10"), Some(16));
        assert_eq!(decode_int("010"), Some(8));
        assert_eq!(decode_int("0"), Some(0));
        assert_eq!(decode_int("-3"), Some(-3));
        assert_eq!(decode_int(""), None);
        assert_eq!(decode_int("1e3"), None);
        assert_eq!(decode_int("--1"), None);
        assert_eq!(decode_int("99999999999"), None);
    }
}
