; v86.asm — virtual-8086 mode (Intel SDM Vol. 3B chapter 20 "8086 emulation", §20.2
; "Virtual-8086 mode", §20.3 "Interrupt and exception handling in virtual-8086 mode";
; Vol. 2 CLI/STI/PUSHF/POPF/INT n/IRET/IN/OUT).
;
; The V86 code runs straight from the ROM at F000:xxxx (linear F0000 + offset), with
; SS:SP = 0800:1000, DS = 4000, ES = 4100, FS = 0 (the variables), GS = 4200.
;
; POST codes:
;   50  IRET from CPL 0 with EFLAGS.VM = 1 enters V86 mode; segment registers hold
;       paragraph numbers, linear = selector * 16 + offset, CPL 3
;   51  IOPL 0: CLI, STI, PUSHF, POPF, INT n, IRET (and their 32-bit forms) raise #GP(0)
;       in the ring-0 handler; INT3 goes through the IDT (gate DPL 0 → #GP(3*8+2))
;   52  IN/OUT checked against the TSS I/O permission bitmap (IOPL plays no part):
;       allowed ports work, denied ones #GP(0); every byte of a word access counts
;   53  the exception frame from V86 mode: GS, FS, DS, ES, SS, ESP, EFLAGS (VM = 1), CS,
;       EIP on the ring-0 stack; DS..GS are null inside the handler
;   54  IOPL 3: CLI/STI/PUSHF/POPF work (POPF cannot change IOPL; PUSHFD clears VM/RF in
;       the image); IRET pops IP, CS, FLAGS (but not IOPL)
;   55  IOPL 3: INT n reaches the protected-mode handler through a DPL-3 interrupt gate,
;       with the V86 segment registers pushed; IRET returns to V86 mode; a DPL-0 gate
;       is #GP(n*8+2)
;   56  V86 segment limits are 64 KB (#GP(0), #SS(0)); no wrap at 1 MB with A20 on
;   57  CPL-0 instructions raise #GP(0) in V86 mode; protected-mode-only instructions
;       (STR, SLDT, LAR, VERR, ARPL) are #UD

%include "common.inc"

V86_SS          equ 0x0800
V86_SP          equ 0x1000
V86_DS          equ 0x4000
V86_ES          equ 0x4100
V86_FS          equ 0x0000
V86_GS          equ 0x4200

EFL_VM          equ 0x20000
EFL_RF          equ 0x10000
EFL_IOPL3       equ 0x3000
EFL_IF          equ 0x200

; scratch layout (the V86 INT handler's record)
S_ESP           equ scratch + 0x00
S_SEGS          equ scratch + 0x04      ; DS, ES, FS, GS inside the handler
S_FRAME         equ scratch + 0x14      ; 9 dwords: EIP CS EFLAGS ESP SS ES DS FS GS
S_V86           equ scratch + 0x40      ; values the V86 code records (dwords)

; TO_V86 iopl, entry: IRET from CPL 0 into V86 mode at F000:entry. TSS.ESP0 is the
; current ESP, which V86_EXIT returns to.
%macro TO_V86 2
        mov [TSS_ADDR + 4], esp
        push dword V86_GS
        push dword V86_FS
        push dword V86_DS
        push dword V86_ES
        push dword V86_SS
        push dword V86_SP
        push dword EFL_VM | ((%1) << 12) | 2
        push dword 0xF000
        push dword R(%2)
        iretd
%endmacro

; V86_EXIT label (V86 code, FS = 0): HLT raises #GP(0); the armed handler continues at
; CPL 0 at the (flat) label.
%macro V86_EXIT 1
        mov dword [fs:exc_resume], %1
        mov dword [fs:exc_armed], 3
        hlt
%endmacro

; VXFAULT vector, error code, instruction (V86 code, FS = 0).
%macro VXFAULT 3+
        mov dword [fs:exc_vec], 0xFFFFFFFF
        mov dword [fs:exc_resume], R(%%resume)
        mov dword [fs:exc_armed], 1
%%insn:
        %3
        %defstr XF_INSN %3
        %defstr XF_VEC %1
        %strcat XF_MSG "no exception from `", XF_INSN, "` (expected vector ", XF_VEC, ")"
        FAILN16 XF_MSG
%%resume:
        CHECK16 [fs:exc_vec], %1, "exception vector"
        CHECK16 [fs:exc_err], %2, "error code"
        CHECK16 [fs:exc_eip], R(%%insn), "faulting IP"
%endmacro

        bits 32
rom_main:
        ; The bitmap allows 0x80 and 0xE9 (common.inc); 0xE8 and 0x70 stay denied.
        SET_GATE 0x60, SEL_CODE0, v86_int, 0xEE         ; DPL 3 interrupt gate
        SET_GATE 0x61, SEL_CODE0, v86_int, 0x8E         ; DPL 0
        SET_GATE 0x62, SEL_CODE3, v86_int, 0xEE         ; DPL 3 → DPL-3 code

        ; -- 50: §20.2.1: "The processor runs in virtual-8086 mode when the VM flag is
        ;    set"; an IRET at CPL 0 that pops EFLAGS with VM = 1 enters it, popping
        ;    ES, DS, FS, GS after SS:ESP (Vol. 2 IRET, RETURN-TO-VIRTUAL-8086-MODE).
        POST 0x50
        TO_V86 0, v86_basic
back50:
        CHECK [V86_DS * 16 + 0x10], 0x12345678, "V86 write at DS:0010"
        CHECK [V86_SS * 16 + V86_SP - 4], 0xCAFEBABE, "V86 push at SS:SP-4"
        CHECK [S_V86 + 0], V86_DS, "DS in V86 mode"
        CHECK [S_V86 + 4], V86_ES, "ES in V86 mode"
        CHECK [S_V86 + 8], V86_GS, "GS in V86 mode"
        CHECK [S_V86 + 12], V86_SS, "SS in V86 mode"
        CHECK [S_V86 + 16], 0xF000, "CS in V86 mode"
        CHECK [S_V86 + 20], R(v86_basic.here), "IP pushed by CALL in V86 mode"
        CHECK [S_V86 + 24], 1, "CR0.PE (SMSW) in V86 mode"
        ; the HLT that left V86 mode: #GP(0) with VM = 1 in the saved EFLAGS
        CHECK [exc_vec], 13, "vector of HLT in V86 mode"
        CHECK [exc_err], 0, "error code of HLT in V86 mode"
        mov eax, [exc_eflags]
        and eax, EFL_VM
        CHECK eax, EFL_VM, "VM in the saved EFLAGS"
        mov ax, cs
        CHECKW ax, SEL_CODE0, "CS back at CPL 0"

        ; -- 51: §20.2.7: with IOPL < 3, CLI, STI, PUSHF, POPF, INT n and IRET are
        ;    IOPL-sensitive in V86 mode and raise #GP(0). INT3 is not (INT n pseudocode:
        ;    the IOPL check applies to INT n only); it goes through the IDT, where a gate
        ;    DPL < CPL (3) gives #GP(3 * 8 + 2).
        POST 0x51
        TO_V86 0, v86_iopl0
back51:

        ; -- 52: §20.2.8.1 / §18.5.2: in V86 mode every IN/OUT is checked against the
        ;    I/O permission bitmap; a set bit (or any set bit for a multi-byte access)
        ;    means #GP(0).
        POST 0x52
        TO_V86 0, v86_io
back52:
        CHECK [S_V86 + 0], 0xE9, "IN AL, 0E9h (allowed port) in V86 mode"
        CHECK [S_V86 + 4], 0xE9, "IN AL, DX = 0E9h in V86 mode"

        ; -- 53: §20.3.1.1 / Figure 20-4: an exception from V86 mode pushes GS, FS, DS,
        ;    ES, SS, ESP, EFLAGS, CS, EIP (and the error code) on the ring-0 stack and
        ;    loads DS, ES, FS and GS with null selectors. (Recorded by the common
        ;    handler for the last #GP of step 52: IN AL, 70h.)
        POST 0x53
        CHECK [S_V86 + 8], 13, "vector"
        CHECK [S_V86 + 12], 0xF000, "saved CS"
        CHECK [S_V86 + 16], R(v86_io.in70), "saved EIP"
        CHECK [S_V86 + 20], V86_SS, "saved SS"
        CHECK [S_V86 + 24], V86_SP, "saved ESP"
        CHECK [S_V86 + 28], V86_ES, "saved ES"
        CHECK [S_V86 + 32], V86_DS, "saved DS"
        CHECK [S_V86 + 36], V86_FS, "saved FS"
        CHECK [S_V86 + 40], V86_GS, "saved GS"
        CHECK [S_V86 + 44], 0, "DS inside the handler"
        mov eax, [S_V86 + 48]
        and eax, EFL_VM | EFL_IOPL3
        CHECK eax, EFL_VM, "saved EFLAGS (VM = 1, IOPL 0)"
        mov edx, [TSS_ADDR + 4]
        sub edx, 36
        CHECK [S_V86 + 52], edx, "frame below ESP0: 9 dwords above the error code"

        ; -- 54: §20.2.7: with IOPL = 3 the flag instructions execute. POPF: "in
        ;    virtual-8086 mode ... the IOPL is not modified". PUSHF (32-bit): "the VM and
        ;    RF flags are not copied; ... cleared in the EFLAGS image".
        POST 0x54
        TO_V86 3, v86_iopl3
back54:
        CHECK [S_V86 + 0], EFL_IF, "IF after STI (IOPL 3)"
        CHECK [S_V86 + 4], 0, "IF after CLI (IOPL 3)"
        CHECK [S_V86 + 8], EFL_IOPL3, "IOPL after POPF of 0 (IOPL 3)"
        CHECK [S_V86 + 12], 0, "VM/RF in the PUSHFD image"
        CHECK [S_V86 + 16], 1, "IRET in V86 mode reached its target"
        CHECK [S_V86 + 20], EFL_IOPL3, "IOPL after an IRET popping IOPL 0 in V86 mode"

        ; -- 55: §20.3.1.1: with IOPL = 3, INT n uses the IDT; a 32-bit interrupt gate
        ;    with DPL 3 to a DPL-0 non-conforming segment runs the handler at CPL 0 on
        ;    the TSS stack with the V86 segment registers pushed and DS..GS nulled;
        ;    IRET with VM = 1 in the popped EFLAGS returns to V86 mode. A gate with
        ;    DPL < 3 gives #GP(n * 8 + 2); a handler segment with DPL != 0 gives
        ;    #GP(selector) (INT n, INTERRUPT-FROM-VIRTUAL-8086-MODE).
        POST 0x55
        TO_V86 3, v86_int_test
back55:
        mov edx, [TSS_ADDR + 4]
        sub edx, 36
        CHECK [S_ESP], edx, "INT handler ESP = ESP0 - 9 dwords"
        CHECK [S_SEGS + 0], 0, "DS in the INT handler"
        CHECK [S_SEGS + 4], 0, "ES in the INT handler"
        CHECK [S_SEGS + 8], 0, "FS in the INT handler"
        CHECK [S_SEGS + 12], 0, "GS in the INT handler"
        CHECK [S_FRAME + 0], R(v86_int_test.after), "saved EIP"
        CHECK [S_FRAME + 4], 0xF000, "saved CS"
        mov eax, [S_FRAME + 8]
        and eax, EFL_VM | EFL_IOPL3
        CHECK eax, EFL_VM | EFL_IOPL3, "saved EFLAGS"
        CHECK [S_FRAME + 12], V86_SP, "saved ESP"
        CHECK [S_FRAME + 16], V86_SS, "saved SS"
        CHECK [S_FRAME + 20], V86_ES, "saved ES"
        CHECK [S_FRAME + 24], V86_DS, "saved DS"
        CHECK [S_FRAME + 28], V86_FS, "saved FS"
        CHECK [S_FRAME + 32], V86_GS, "saved GS"
        CHECK [S_V86 + 0], V86_DS, "DS after IRET to V86 mode"
        CHECK [S_V86 + 4], V86_GS, "GS after IRET to V86 mode"
        CHECK [S_V86 + 8], 0xA5A5, "AX set by the handler"

        ; -- 56: §20.2.1: V86 segments are 64 KB (an offset beyond FFFF is #GP(0),
        ;    #SS(0) for SS); addresses run up to 10FFEF (no wrap with A20 on).
        POST 0x56
        TO_V86 0, v86_limits
back56:
        CHECK [0x100000], 0x10FFEF10, "V86 write at FFFF:0010 (linear 100000)"

        ; -- 57: MOV from CR0 and LMSW: "#GP(0) in virtual-8086 mode" (CPL 3); STR,
        ;    SLDT, LAR, VERR, ARPL: "#UD: not recognized in virtual-8086 mode".
        POST 0x57
        TO_V86 0, v86_priv
back57:

        DONE

; ---- V86 code (CPL 3, 16-bit) -----------------------------------------------------------
        bits 16
v86_basic:
        mov dword [0x10], 0x12345678            ; DS:0010 = linear 40010
        mov ax, ds
        mov [fs:S_V86 + 0], ax
        mov ax, es
        mov [fs:S_V86 + 4], ax
        mov ax, gs
        mov [fs:S_V86 + 8], ax
        mov ax, ss
        mov [fs:S_V86 + 12], ax
        mov ax, cs
        mov [fs:S_V86 + 16], ax
        call .here
.here:  pop ax
        mov [fs:S_V86 + 20], ax
        push dword 0xCAFEBABE                   ; SS:SP-4 = linear 8FFC
        pop eax
        smsw ax
        and ax, 1
        mov [fs:S_V86 + 24], ax
        V86_EXIT back50

v86_iopl0:
        VXFAULT 13, 0, cli
        VXFAULT 13, 0, sti
        VXFAULT 13, 0, pushf
        VXFAULT 13, 0, pushfd
        push word 0
        VXFAULT 13, 0, popf
        pop ax
        push dword 0
        VXFAULT 13, 0, popfd
        pop eax
        VXFAULT 13, 0, int 0x60
        push word 0
        push cs
        push word R(.t)
        VXFAULT 13, 0, iret
.t:     add sp, 6
        VXFAULT 13, 3 * 8 + 2, int3
        V86_EXIT back51

v86_io:
        in al, 0xE9
        movzx eax, al
        mov [fs:S_V86 + 0], eax
        mov dx, 0xE9
        in al, dx
        movzx eax, al
        mov [fs:S_V86 + 4], eax
        mov al, 0x52
        out 0x80, al                            ; allowed (POST port)
        VXFAULT 13, 0, in ax, 0xE8              ; 0xE8 denied, 0xE9 allowed
        mov dx, 0x71
        VXFAULT 13, 0, out dx, al
        VXFAULT 13, 0, out 0xEA, al
        mov dword [fs:exc_vec], 0xFFFFFFFF
        mov dword [fs:exc_resume], R(.r)
        mov dword [fs:exc_armed], 1
.in70:  in al, 0x70
        FAILN16 "no exception from IN AL, 70h"
.r:     ; keep the frame the common handler recorded, for step 53
        mov eax, [fs:exc_vec]
        mov [fs:S_V86 + 8], eax
        mov eax, [fs:exc_cs]
        mov [fs:S_V86 + 12], eax
        mov eax, [fs:exc_eip]
        mov [fs:S_V86 + 16], eax
        mov eax, [fs:exc_ss]
        mov [fs:S_V86 + 20], eax
        mov eax, [fs:exc_esp]
        mov [fs:S_V86 + 24], eax
        mov eax, [fs:exc_es]
        mov [fs:S_V86 + 28], eax
        mov eax, [fs:exc_ds]
        mov [fs:S_V86 + 32], eax
        mov eax, [fs:exc_fs]
        mov [fs:S_V86 + 36], eax
        mov eax, [fs:exc_gs]
        mov [fs:S_V86 + 40], eax
        mov eax, [fs:exc_entry_ds]
        mov [fs:S_V86 + 44], eax
        mov eax, [fs:exc_eflags]
        mov [fs:S_V86 + 48], eax
        mov eax, [fs:exc_entry_esp]
        mov [fs:S_V86 + 52], eax
        V86_EXIT back52

v86_iopl3:
        sti
        pushfd
        pop eax
        and eax, EFL_IF
        mov [fs:S_V86 + 0], eax
        cli
        pushfd
        pop eax
        and eax, EFL_IF
        mov [fs:S_V86 + 4], eax
        push word 0
        popf
        pushf
        pop ax
        and eax, EFL_IOPL3
        mov [fs:S_V86 + 8], eax
        pushfd
        pop eax
        and eax, EFL_VM | EFL_RF
        mov [fs:S_V86 + 12], eax
        pushf
        push cs
        push word R(.t)
        iret
        FAILN16 "IRET in V86 mode did not jump"
.t:     mov dword [fs:S_V86 + 16], 1
        ; IRET in V86 mode: "EFLAGS ← Pop() (* VM, IOPL, VIP and VIF EFLAG bits not
        ; modified by pop *)" — popping IOPL 0 keeps IOPL 3.
        push word 0
        push cs
        push word R(.t2)
        iret
.t2:    pushf
        pop ax
        and eax, EFL_IOPL3
        mov [fs:S_V86 + 20], eax
        V86_EXIT back54

v86_int_test:
        xor ax, ax
        int 0x60
.after: mov [fs:S_V86 + 8], ax
        mov ax, ds
        mov [fs:S_V86 + 0], ax
        mov ax, gs
        mov [fs:S_V86 + 4], ax
        CHECK16 esp, V86_SP, "SP after the INT handler's IRET"
        VXFAULT 13, 0x61 * 8 + 2, int 0x61
        VXFAULT 13, SEL_CODE3 & 0xFFFC, int 0x62
        VXFAULT 13, 3 * 8 + 2, int3
        V86_EXIT back55

v86_limits:
        mov esi, 0x10000
        VXFAULT 13, 0, mov al, [esi]
        VXFAULT 13, 0, mov ax, [0xFFFF]
        VXFAULT 12, 0, mov ax, [ss:0xFFFF]
        mov ax, 0xFFFF
        mov es, ax
        mov dword [es:0x10], 0x10FFEF10         ; linear 100000
        mov eax, [es:0x10]
        CHECK16 eax, 0x10FFEF10, "read back at FFFF:0010"
        V86_EXIT back56

v86_priv:
        VXFAULT 13, 0, mov eax, cr0
        VXFAULT 13, 0, lmsw ax
        VXFAULT 6, 0, str ax
        VXFAULT 6, 0, sldt ax
        VXFAULT 6, 0, lar ax, bx
        VXFAULT 6, 0, verr ax
        VXFAULT 6, 0, arpl ax, bx
        V86_EXIT back57

; ---- the protected-mode handler for INT 60h from V86 mode --------------------------------
        bits 32
v86_int:
        mov [ss:S_ESP], esp
        push eax
        xor eax, eax
        mov ax, ds
        mov [ss:S_SEGS + 0], eax
        mov ax, es
        mov [ss:S_SEGS + 4], eax
        mov ax, fs
        mov [ss:S_SEGS + 8], eax
        mov ax, gs
        mov [ss:S_SEGS + 12], eax
%assign k 0
%rep 9
        mov eax, [ss:esp + 4 + k * 4]
%if k != 0 && k != 2 && k != 3
        and eax, 0xFFFF
%endif
        mov [ss:S_FRAME + k * 4], eax
%assign k k + 1
%endrep
        pop eax
        mov ax, 0xA5A5
        iretd

gdt_start:
        GDT_COMMON
gdt_end:

        ROM_END
