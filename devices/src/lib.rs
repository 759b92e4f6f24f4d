//! PC devices. Each chip lives in its own module; none of them knows about the CPU.
