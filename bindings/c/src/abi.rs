/// The ABI version of this library: the number in the shared library's SONAME
/// (`libstateful_redis.so.<SR_ABI_VERSION>`). It changes only when a published
/// function, type or value changes incompatibly (see `docs/c-abi.md`); additions
/// keep it. Compare it with `sr_abi_version()` at run time.
pub const SR_ABI_VERSION: u32 = 1;
