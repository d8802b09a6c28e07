//! How much a writer measures to make a file small ([`Effort`]): a leaf of the module graph,
//! read by the encoding and transform choices.

/// How much a writer measures to make a file small: each step up tries more candidates, and
/// slower codecs, on the data. Reads are about as fast whatever the effort (brotli, which the
/// default may choose for residuals, decodes at about half zstd's speed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, PartialOrd, Ord, Hash)]
pub enum Effort {
    /// One predictor per neighbourhood is measured against no transform, without a split by
    /// context, and residuals stay with the zstd levels every column climbs.
    Fast,
    /// Two predictors per neighbourhood and a split by context of the most promising one are
    /// measured, and residuals may be written with zstd level 16 or brotli quality 10
    /// where those measure smaller (`DESIGN.md` gives the figures).
    #[default]
    Default,
    /// As [`Effort::Default`], and brotli quality 11 is tried on residuals too.
    Best,
}

impl std::str::FromStr for Effort {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fast" => Ok(Effort::Fast),
            "default" => Ok(Effort::Default),
            "best" => Ok(Effort::Best),
            _ => Err(format!("unknown effort '{s}' (expected fast, default or best)")),
        }
    }
}
