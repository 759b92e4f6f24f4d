//! The x87 floating-point unit of a P6.

use crate::decode::Entry;
use crate::{Bus, Cpu, Exc, Res, UD};

/// x87 register file and control/status state.
#[derive(Clone, Debug, Default)]
pub struct Fpu {}

impl Cpu {
    /// Executes one x87 instruction (ESC opcodes D8–DF); `e.imm2` holds iced's `Code`.
    pub(crate) fn fpu_exec<B: Bus>(&mut self, _bus: &mut B, _e: &Entry) -> Res<()> {
        self.log_unimplemented(0x87, "x87 instruction");
        Err(Exc::new(UD))
    }

    /// WAIT/FWAIT with an FPU present: reports pending unmasked exceptions.
    pub(crate) fn fpu_wait(&mut self) -> Res<()> {
        Ok(())
    }
}
