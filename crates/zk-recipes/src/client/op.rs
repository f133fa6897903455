//! Builders for the operations of [`crate::Client::multi`] and
//! [`crate::Client::multi_read`], with open ACLs and `None` meaning any version.

use zk_proto::records::{
    CheckVersionRequest, CreateRequest, DeleteRequest, GetChildrenRequest, GetDataRequest,
    SetDataRequest,
};
use zk_proto::{Acl, CreateMode, MultiOp};

/// Create `path` with `data` (open ACL).
pub fn create(path: &str, data: &[u8], mode: CreateMode) -> MultiOp {
    MultiOp::Create(CreateRequest {
        path: path.to_owned(),
        data: Some(data.to_vec()),
        acl: Acl::open_unsafe(),
        flags: mode.flag(),
    })
}

/// Delete `path` if its version is `version`.
pub fn delete(path: &str, version: Option<i32>) -> MultiOp {
    MultiOp::Delete(DeleteRequest {
        path: path.to_owned(),
        version: version.unwrap_or(-1),
    })
}

/// Set `path`'s data if its version is `version`.
pub fn set_data(path: &str, data: &[u8], version: Option<i32>) -> MultiOp {
    MultiOp::SetData(SetDataRequest {
        path: path.to_owned(),
        data: Some(data.to_vec()),
        version: version.unwrap_or(-1),
    })
}

/// Fail the multi unless `path`'s version is `version`.
pub fn check(path: &str, version: i32) -> MultiOp {
    MultiOp::Check(CheckVersionRequest {
        path: path.to_owned(),
        version,
    })
}

/// Read `path`'s data (multi_read only).
pub fn get_data(path: &str) -> MultiOp {
    MultiOp::GetData(GetDataRequest {
        path: path.to_owned(),
        watch: false,
    })
}

/// Read `path`'s children (multi_read only).
pub fn get_children(path: &str) -> MultiOp {
    MultiOp::GetChildren(GetChildrenRequest {
        path: path.to_owned(),
        watch: false,
    })
}
