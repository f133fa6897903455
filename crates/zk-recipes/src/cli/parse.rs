//! Command lines as zkCli reads them: words split on spaces, `"..."` and `'...'` quoting a
//! word (quotes removed), then POSIX-style options (`-s -e`, `-se`, `-v 3`) before and among
//! the arguments.

use std::collections::BTreeMap;

/// A command line split into its command, options and arguments.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CommandLine {
    /// The command word.
    pub name: String,
    /// Options present, with their values (`None` for flags).
    pub options: BTreeMap<char, Option<String>>,
    /// The option letters in the order given (for options that exclude each other).
    pub given: Vec<char>,
    /// The remaining words, in order.
    pub args: Vec<String>,
}

impl CommandLine {
    /// Whether flag `option` was given.
    pub fn has(&self, option: char) -> bool {
        self.options.contains_key(&option)
    }

    /// The value of `option`, if given with one.
    pub fn value(&self, option: char) -> Option<&str> {
        self.options.get(&option).and_then(|value| value.as_deref())
    }
}

/// Splits `line` into words as zkCli does; `None` for an unterminated quote.
pub fn split_words(line: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let Some(&first) = chars.peek() else {
            return Some(words);
        };
        let mut word = String::new();
        if first == '"' || first == '\'' {
            chars.next();
            loop {
                match chars.next() {
                    Some(c) if c == first => break,
                    Some(c) => word.push(c),
                    None => return None,
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                word.push(c);
            }
        }
        words.push(word);
    }
}

/// Parses `words` for a command whose options with a value are `valued` (the others are
/// flags). An unknown option, or one missing its value, is an error worded as zkCli
/// prints it (Apache Commons CLI's exception and message).
pub fn parse(words: &[String], flags: &str, valued: &str) -> Result<CommandLine, String> {
    let Some((name, rest)) = words.split_first() else {
        return Err("no command".into());
    };
    let mut line = CommandLine {
        name: name.clone(),
        ..CommandLine::default()
    };
    let mut rest = rest.iter();
    while let Some(word) = rest.next() {
        let Some(options) = word.strip_prefix('-').filter(|o| !o.is_empty()) else {
            line.args.push(word.clone());
            continue;
        };
        let mut letters = options.chars();
        while let Some(option) = letters.next() {
            if valued.contains(option) {
                // The value is the rest of this word, or the next word.
                let inline: String = letters.by_ref().collect();
                let value = if inline.is_empty() {
                    rest.next().cloned().ok_or_else(|| {
                        format!(
                            "org.apache.commons.cli.MissingArgumentException: \
                             Missing argument for option: {option}"
                        )
                    })?
                } else {
                    inline
                };
                line.options.insert(option, Some(value));
                line.given.push(option);
            } else if flags.contains(option) {
                line.options.insert(option, None);
                line.given.push(option);
            } else {
                return Err(format!(
                    "org.apache.commons.cli.UnrecognizedOptionException: \
                     Unrecognized option: -{option}"
                ));
            }
        }
    }
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        split_words(line).unwrap()
    }

    #[test]
    fn quotes_group_words() {
        assert_eq!(
            words(r#"create /a "hello world" 'x y'"#),
            ["create", "/a", "hello world", "x y"]
        );
        assert_eq!(words("  ls   / "), ["ls", "/"]);
        assert_eq!(split_words(r#"set /a "open"#), None);
    }

    #[test]
    fn options_burst_and_take_values() {
        let line = parse(&words("create -es -t 500 /a data"), "esc", "t").unwrap();
        assert!(line.has('e') && line.has('s'));
        assert_eq!(line.value('t'), Some("500"));
        assert_eq!(line.args, ["/a", "data"]);
        let line = parse(&words("set -v3 /a x"), "s", "v").unwrap();
        assert_eq!(line.value('v'), Some("3"));
        assert_eq!(
            parse(&words("ls -z /"), "swR", ""),
            Err(
                "org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: -z"
                    .into()
            )
        );
        assert_eq!(
            parse(&words("delquota -b -n /q"), "nbNB", "")
                .unwrap()
                .given,
            ['b', 'n']
        );
        assert!(parse(&words("set /a x -v"), "s", "v").is_err());
    }
}
