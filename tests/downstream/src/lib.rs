//! A stand-in for a loader that embeds the purgatory through `purgatory-host`.
