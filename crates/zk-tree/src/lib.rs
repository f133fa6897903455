//! The znode data tree (work in progress).
