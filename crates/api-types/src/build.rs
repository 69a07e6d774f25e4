//! `POST /api/build`: the dashboard's build, one [`BuildLineDto`] per line of its NDJSON answer.

use serde::{Deserialize, Serialize};

/// One line of a build's answer (`application/x-ndjson`): exactly one field is set. `text` is
/// the builder's output as the CLI prints it (`Step 1/5 : FROM busybox`, ` ---> Using cache`,
/// a `RUN`'s output); `image` the built image's ID, once every step succeeded; `error` what
/// ended the build (with `code`, the failing command's exit code), always the last line.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(default)]
pub struct BuildLineDto {
    /// Output text, newlines included.
    pub text: Option<String>,
    /// `sha256:<64 hex>` of the built image.
    pub image: Option<String>,
    /// What ended the build.
    pub error: Option<String>,
    /// The exit code of the `RUN` that failed, with `error`.
    pub code: Option<i64>,
}
