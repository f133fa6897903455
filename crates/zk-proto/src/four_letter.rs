//! Four-letter words: administrative commands (`ruok`, `stat`, `mntr`, ...) that a client
//! sends as the first 4 bytes of a connection instead of a frame length.
//!
//! The reference reads the first 4 bytes as the length of the first frame and, only on a
//! connection's first frame, looks that integer up in its command table; a known command is
//! answered in plain text and the connection is closed. The ASCII codes of every command are
//! far above the frame limit, so no valid first frame is mistaken for a command. `stmk` is
//! followed by an 8-byte big-endian trace mask.

/// Defines [`FourLetterWord`] from one table of names, their 4 bytes and the name the
/// reference gives them.
macro_rules! four_letter_words {
    ($($(#[$doc:meta])* $name:ident = $bytes:expr, $text:literal;)*) => {
        /// A command the reference recognises in place of the first frame length.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum FourLetterWord {
            $($(#[$doc])* $name,)*
        }

        impl FourLetterWord {
            /// Every command, in the order of the table.
            pub const ALL: &'static [FourLetterWord] = &[$(FourLetterWord::$name),*];

            /// The 4 bytes that start a connection with this command.
            pub fn bytes(self) -> [u8; 4] {
                match self {
                    $(FourLetterWord::$name => *$bytes,)*
                }
            }

            /// The command as the reference names it (`ruok`, ..., `telnet close`).
            pub fn name(self) -> &'static str {
                match self {
                    $(FourLetterWord::$name => $text,)*
                }
            }
        }
    };
}

four_letter_words! {
    /// The server's configuration.
    Conf = b"conf", "conf";
    /// The connections and their sessions.
    Cons = b"cons", "cons";
    /// Resets the connection statistics.
    Crst = b"crst", "crst";
    /// The sizes of the snapshot and log directories.
    Dirs = b"dirs", "dirs";
    /// The sessions and their ephemeral nodes.
    Dump = b"dump", "dump";
    /// The server's environment.
    Envi = b"envi", "envi";
    /// The trace mask.
    Gtmk = b"gtmk", "gtmk";
    /// "Are you ok": `imok` if the server is running.
    Ruok = b"ruok", "ruok";
    /// Sets the trace mask; followed by an 8-byte mask.
    Stmk = b"stmk", "stmk";
    /// Resets the server statistics.
    Srst = b"srst", "srst";
    /// The server's statistics.
    Srvr = b"srvr", "srvr";
    /// The server's statistics and its connections.
    Stat = b"stat", "stat";
    /// Watches by session.
    Wchc = b"wchc", "wchc";
    /// Watches by path.
    Wchp = b"wchp", "wchp";
    /// A summary of the watches.
    Wchs = b"wchs", "wchs";
    /// Monitoring variables.
    Mntr = b"mntr", "mntr";
    /// `rw` or `ro`: whether the server is read-only.
    Isro = b"isro", "isro";
    /// The history of the tree's digests.
    Hash = b"hash", "hash";
    /// The control sequence telnet sends when it closes (IAC IP IAC DO TM); recognised only
    /// so that it is not read as a frame length.
    TelnetClose = &[0xff, 0xf4, 0xff, 0xfd], "telnet close";
}

impl FourLetterWord {
    /// The command whose 4 bytes, read as a big-endian integer, are `code`; the reference
    /// looks commands up this way.
    pub fn from_code(code: i32) -> Option<Self> {
        Self::from_bytes(code.to_be_bytes())
    }

    /// The command spelled by `bytes`.
    pub fn from_bytes(bytes: [u8; 4]) -> Option<Self> {
        Self::ALL.iter().copied().find(|word| word.bytes() == bytes)
    }

    /// The command at the start of a connection's first bytes; `None` if fewer than 4 bytes
    /// have arrived or they are not a command (then they are a frame length).
    pub fn from_prefix(first_bytes: &[u8]) -> Option<Self> {
        first_bytes
            .first_chunk::<4>()
            .copied()
            .and_then(Self::from_bytes)
    }

    /// How many bytes of argument follow the command: 8 (the trace mask) for `stmk`, 0 for the
    /// others.
    pub fn argument_len(self) -> usize {
        match self {
            FourLetterWord::Stmk => 8,
            _ => 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::DEFAULT_MAX_FRAME_LEN;

    #[test]
    fn every_command_is_recognised_from_its_bytes_and_code() {
        for &word in FourLetterWord::ALL {
            assert_eq!(FourLetterWord::from_bytes(word.bytes()), Some(word));
            let code = i32::from_be_bytes(word.bytes());
            assert_eq!(FourLetterWord::from_code(code), Some(word));
            assert_eq!(FourLetterWord::from_prefix(&word.bytes()), Some(word));
        }
        assert_eq!(FourLetterWord::ALL.len(), 19);
    }

    #[test]
    fn names_match_the_reference() {
        assert_eq!(FourLetterWord::Ruok.name(), "ruok");
        assert_eq!(FourLetterWord::Mntr.name(), "mntr");
        assert_eq!(FourLetterWord::TelnetClose.name(), "telnet close");
        for &word in FourLetterWord::ALL {
            if word != FourLetterWord::TelnetClose {
                assert_eq!(word.name().as_bytes(), word.bytes());
            }
        }
    }

    #[test]
    fn commands_cannot_be_valid_frame_lengths() {
        for &word in FourLetterWord::ALL {
            let code = i32::from_be_bytes(word.bytes());
            assert!(code < 0 || code as usize > DEFAULT_MAX_FRAME_LEN);
        }
    }

    #[test]
    fn lengths_and_short_input_are_not_commands() {
        assert_eq!(FourLetterWord::from_prefix(&[0, 0, 0, 45]), None);
        assert_eq!(FourLetterWord::from_prefix(b"ruo"), None);
        assert_eq!(FourLetterWord::from_prefix(b"rUok"), None);
        assert_eq!(
            FourLetterWord::from_prefix(b"ruok\n"),
            Some(FourLetterWord::Ruok)
        );
    }
}
