; gates.asm — privilege transitions through call gates, interrupt and trap gates; RETF
; and IRET to an outer ring (Intel SDM Vol. 3A §5.8 "Privilege level checking when
; transferring program control between code segments", §6.12 "Exception and interrupt
; handling"; Vol. 2 CALL, RET, INT n, IRET).
;
; POST codes:
;   30  32-bit call gate from CPL 3 to CPL 0 with 3 parameters: stack from TSS SS0:ESP0,
;       parameters copied, caller SS:ESP and CS:EIP saved (§5.8.6, Figure 5-13)
;   31  RETF 12 back to CPL 3: both stacks released, DPL-0 ES nulled (§5.8.6)
;   32  16-bit call gate from 16-bit CPL-3 code: 16-bit frame, RETF 4
;   33  16-bit interrupt gate from 16-bit CPL-3 code: 16-bit frame and IRET
;   34  call gate to a DPL-1 segment: the stack comes from TSS SS1:ESP1
;   35  call gate to code of the same privilege, or to conforming code: no stack
;       switch, no parameter copy
;   36  call gate faults: gate DPL < CPL, not present, non-code target, JMP to an inner
;       ring, target DPL > CPL
;   37  interrupt gate from CPL 3: stack switch, IF cleared, IRET restores IF, nulls GS
;   38  trap gate from CPL 3: IF unchanged
;   39  interrupt gate to a DPL-3 handler from CPL 3: no stack switch
;   3A  INT n / INT3 / INTO with gate DPL < CPL: #GP(n * 8 + 2); not-present gate:
;       #NP(n * 8 + 2); vector beyond the IDT limit: #GP(n * 8 + 2); gate to a
;       non-code segment or to code with DPL > CPL: #GP(selector)
;   3B  IRET to CPL 3 with a bad SS (RPL or DPL != 3): #GP(SS selector); RETF / IRET
;       from CPL 3 to CPL 0: #GP(selector)
;   3C  interrupt gate to a conforming DPL-0 segment from CPL 3: runs at CPL 3 on the
;       same stack; a not-present target code segment is #NP(selector)
;   3D  IOPL at CPL 3 in protected mode: CLI/STI #GP(0) if CPL > IOPL, POPF leaves IF
;       and IOPL alone, IN/OUT use the I/O bitmap; with IOPL = 3 they all work
;   3E  a gate of the wrong type in the IDT: #GP(n * 8 + 2)
;   (Faults while delivering an exception — #DF, EXT — are in exceptions.asm.)

%include "common.inc"

SEL_GATE32      equ 0x40 | 3            ; 32-bit call gate, DPL 3 → CODE0:cg32, 3 params
SEL_GATE16      equ 0x48 | 3            ; 16-bit call gate, DPL 3 → CODE16:cg16, 2 params
SEL_CODE16_3    equ 0x50 | 3            ; 16-bit code, DPL 3, base F0000
SEL_GATE_DPL0   equ 0x58 | 3            ; call gate with DPL 0
SEL_GATE_NP     equ 0x60 | 3            ; call gate, not present
SEL_GATE_DATA   equ 0x68 | 3            ; call gate → a data segment
SEL_GATE_TO3    equ 0x70 | 3            ; call gate → CODE3 (no privilege change)
SEL_CODE1       equ 0x78 | 1            ; 32-bit code, DPL 1
SEL_DATA1       equ 0x80 | 1            ; data, DPL 1
SEL_GATE_R1     equ 0x88 | 3            ; call gate → CODE1:cg1
SEL_CONF0       equ 0x90                ; conforming readable code, DPL 0, flat
SEL_CODE_NP     equ 0x98                ; 32-bit code, DPL 0, not present
SEL_GATE_CNP    equ 0xA0 | 3            ; call gate → SEL_CODE_NP
SEL_GATE_CONF   equ 0xA8 | 3            ; call gate → SEL_CONF0:cg_same

STACK1_TOP      equ 0x60000
R3_16_SP        equ 0xE000

; scratch layout
S_ESP           equ scratch + 0x00      ; ESP at handler entry
S_SS            equ scratch + 0x04
S_CS            equ scratch + 0x08
S_FL            equ scratch + 0x0C      ; EFLAGS inside the handler
S_FRAME         equ scratch + 0x10      ; copy of the frame (up to 8 dwords)
S_SAVE          equ scratch + 0x30
S_ESP3          equ scratch + 0x34      ; caller's ESP before the transfer
S_ESP0          equ scratch + 0x38      ; TSS.ESP0 while at CPL 3

; RECORD n: store ESP, SS, CS, EFLAGS and n dwords (n16 words with RECORD16) from the
; stack into the scratch area. Registers are preserved.
%macro RECORD 1
        mov [ss:S_ESP], esp
        mov [ss:S_SAVE], eax
        xor eax, eax
        mov ax, ss
        mov [ss:S_SS], eax
        mov ax, cs
        mov [ss:S_CS], eax
        pushfd
        pop eax
        mov [ss:S_FL], eax
%assign k 0
%rep %1
        mov eax, [ss:esp + k * 4]
        mov [ss:S_FRAME + k * 4], eax
%assign k k + 1
%endrep
        mov eax, [ss:S_SAVE]
%endmacro

%macro RECORD16 1
        mov [ss:S_ESP], esp
        mov [ss:S_SAVE], eax
        xor eax, eax
        mov ax, ss
        mov [ss:S_SS], eax
        mov ax, cs
        mov [ss:S_CS], eax
        pushfd
        pop eax
        mov [ss:S_FL], eax
%assign k 0
%rep %1
        movzx eax, word [ss:esp + k * 2]
        mov [ss:S_FRAME + k * 4], eax
%assign k k + 1
%endrep
        mov eax, [ss:S_SAVE]
%endmacro

        bits 32
rom_main:
        mov dword [TSS_ADDR + 12], STACK1_TOP   ; ESP1
        mov dword [TSS_ADDR + 16], SEL_DATA1    ; SS1
        SET_GATE 0x40, SEL_CODE0, int_handler, 0xEE     ; interrupt gate, DPL 3
        SET_GATE 0x41, SEL_CODE0, int_handler, 0xEF     ; trap gate, DPL 3
        SET_GATE 0x43, SEL_CODE0, int_handler, 0x6E     ; not present, DPL 3
        SET_GATE 0x44, SEL_CODE3, int_handler3, 0xEE    ; → DPL-3 code
        SET_GATE 0x45, SEL_CODE16, R(int16_handler), 0xE6 ; 16-bit interrupt gate
        SET_GATE 0x46, SEL_DATA0, int_handler, 0xEE     ; → a data segment
        SET_GATE 0x47, SEL_CONF0, int_handler3, 0xEE    ; → conforming DPL-0 code
        SET_GATE 0x48, SEL_CODE_NP, int_handler, 0xEE   ; → not-present code
        ; (vector 0x42, 3 and 4 keep their DPL-0 gates)

        ; -- 30: CALL through a call gate to a more privileged non-conforming segment
        ;    (§5.8.5-5.8.6): the new SS:ESP comes from the TSS for the target DPL; the
        ;    processor pushes the caller's SS and ESP, copies "parameter count" dwords
        ;    from the caller's stack, then pushes the caller's CS and EIP.
        POST 0x30
        TO_RING3
        mov eax, [TSS_ADDR + 4]
        mov [S_ESP0], eax
        mov [S_ESP3], esp
        push dword 0x11111111                   ; parameter 1
        push dword 0x22222222                   ; parameter 2
        push dword 0x33333333                   ; parameter 3
        call SEL_GATE32:0xDEADBEEF              ; the offset is ignored
.ret30:
        mov ebx, esp
        mov edx, [S_ESP0]
        sub edx, 28
        CHECK [S_ESP], edx, "handler ESP = TSS.ESP0 - 7 dwords"
        CHECK [S_SS], SEL_DATA0, "handler SS = TSS.SS0"
        CHECK [S_CS], SEL_CODE0, "handler CS (CPL 0)"
        CHECK [S_FRAME + 0], .ret30, "saved EIP"
        CHECKW [S_FRAME + 4], SEL_CODE3, "saved CS"
        CHECK [S_FRAME + 8], 0x33333333, "copied parameter 3 (last pushed)"
        CHECK [S_FRAME + 12], 0x22222222, "copied parameter 2"
        CHECK [S_FRAME + 16], 0x11111111, "copied parameter 1"
        mov edx, [S_ESP3]
        sub edx, 12
        CHECK [S_FRAME + 20], edx, "saved caller ESP (after the parameters)"
        CHECKW [S_FRAME + 24], SEL_DATA3, "saved caller SS"

        ; -- 31: RET n to an outer level (Vol. 2 RET): pops EIP, CS, adds n to ESP,
        ;    pops ESP and SS, adds n to the new ESP; then "for any segment register (ES,
        ;    FS, GS, DS) whose DPL < new CPL (data or non-conforming code) ... loaded with
        ;    a null selector". The handler loaded ES with DPL-0 data.
        POST 0x31
        CHECK ebx, [S_ESP3], "caller ESP after RETF 12 (parameters released)"
        mov ax, ss
        CHECKW ax, SEL_DATA3, "SS after RETF"
        mov ax, cs
        CHECKW ax, SEL_CODE3, "CS after RETF"
        mov ax, es
        CHECKW ax, 0, "ES (DPL 0) nulled by RETF to CPL 3"
        mov ax, ds
        CHECKW ax, SEL_DATA3, "DS (DPL 3) kept"
        mov ax, SEL_DATA3
        mov es, ax
        TO_RING0

        ; -- 32: a 16-bit call gate pushes 16-bit values: SS, SP, the parameter words,
        ;    CS, IP (§5.8.3: "the size of the values pushed is determined by the gate").
        POST 0x32
        mov [TSS_ADDR + 4], esp
        push dword SEL_DATA3
        push dword R3_16_SP
        push dword 0x2
        push dword SEL_CODE16_3
        push dword R(r3_16)
        iretd
back32:
        ; back at CPL 0 (from the 16-bit code through VEC_RING0)
        mov edx, [TSS_ADDR + 4]
        sub edx, 12
        CHECK [scratch + 0x40], edx, "16-bit gate: handler ESP = ESP0 - 6 words"
        CHECK [scratch + 0x44], SEL_CODE16, "16-bit gate: handler CS"
        CHECK [scratch + 0x48], R(r3_16.ret), "16-bit gate: saved IP"
        CHECK [scratch + 0x4C], SEL_CODE16_3, "16-bit gate: saved CS"
        CHECK [scratch + 0x50], 0x2222, "16-bit gate: parameter 2"
        CHECK [scratch + 0x54], 0x1111, "16-bit gate: parameter 1"
        CHECK [scratch + 0x58], R3_16_SP - 4, "16-bit gate: saved SP"
        CHECK [scratch + 0x5C], SEL_DATA3, "16-bit gate: saved SS"
        CHECK [scratch + 0x60], R3_16_SP, "16-bit gate: SP after RETF 4"
        ; -- 33: a 16-bit interrupt gate (§6.12.1, Figure 6-4 with 16-bit values)
        ;    pushes SS, SP, FLAGS, CS, IP as words; a 16-bit IRET pops them. Results of
        ;    the same 16-bit excursion (INT 45h in r3_16).
        POST 0x33
        mov edx, [TSS_ADDR + 4]
        sub edx, 10
        CHECK [scratch + 0x64], edx, "16-bit int gate: handler ESP = ESP0 - 5 words"
        CHECK [scratch + 0x68], R(r3_16.ret2), "16-bit int gate: saved IP"
        CHECK [scratch + 0x6C], SEL_CODE16_3, "16-bit int gate: saved CS"
        mov eax, [scratch + 0x70]
        and eax, 0x0202
        CHECK eax, 0x0002, "16-bit int gate: saved FLAGS"
        CHECK [scratch + 0x74], R3_16_SP, "16-bit int gate: saved SP"
        CHECK [scratch + 0x78], SEL_DATA3, "16-bit int gate: saved SS"
        CHECK [scratch + 0x7C], R3_16_SP, "16-bit int gate: SP after IRET"

        ; -- 34: the stack for a DPL-1 target comes from SS1:ESP1 (§5.8.5).
        POST 0x34
        TO_RING3
        call SEL_GATE_R1:0
        CHECK [S_ESP], STACK1_TOP - 16, "DPL-1 handler ESP = ESP1 - 4 dwords"
        CHECK [S_SS], SEL_DATA1, "DPL-1 handler SS = SS1"
        CHECK [S_CS], SEL_CODE1, "DPL-1 handler CS (CPL 1)"
        CHECKW [S_FRAME + 12], SEL_DATA3, "saved SS on the DPL-1 stack"

        ; -- 35: a call gate to a segment of the current privilege works like a far
        ;    call: no stack switch, parameters are not copied.
        POST 0x35
        mov ebx, esp
        push dword 0xAAAA5555
        call SEL_GATE_TO3:0
.ret34: add esp, 4
        lea edx, [ebx - 12]
        CHECK [S_ESP], edx, "same-privilege gate: ESP (2 dwords pushed)"
        CHECK [S_FRAME], .ret34, "same-privilege gate: saved EIP"
        CHECKW [S_FRAME + 4], SEL_CODE3, "same-privilege gate: saved CS"
        CHECK [S_CS], SEL_CODE3, "same-privilege gate: CS"
        ; CALL: "IF code segment is conforming OR code segment DPL = CPL THEN
        ; CALL-TO-SAME-PRIVILEGE" — a gate to DPL-0 conforming code from CPL 3.
        mov ebx, esp
        call SEL_GATE_CONF:0
        lea edx, [ebx - 8]
        CHECK [S_ESP], edx, "gate to conforming code: ESP (no stack switch)"
        CHECK [S_CS], SEL_CONF0 | 3, "gate to conforming code: CS (CPL 3)"

        ; -- 36: CALL (Vol. 2): #GP(gate selector) if the gate's DPL < CPL or < RPL;
        ;    #NP(gate selector) if the gate is not present; #GP(code selector) if the
        ;    target is not a code segment; JMP through a call gate to a non-conforming
        ;    segment with DPL != CPL is #GP(code selector).
        POST 0x36
        XFAULT 13, SEL_GATE_DPL0 & 0xFFFC, call SEL_GATE_DPL0:0
        XFAULT 11, SEL_GATE_NP & 0xFFFC, call SEL_GATE_NP:0
        XFAULT 13, SEL_DATA0, call SEL_GATE_DATA:0
        XFAULT 13, SEL_CODE0, jmp SEL_GATE32:0
        TO_RING0
        ; From CPL 0: the target's DPL (3) > CPL is #GP(code selector).
        XFAULT 13, SEL_CODE3 & 0xFFFC, call SEL_GATE_TO3:0

        ; -- 37: §6.12.1: an interrupt through an interrupt gate to a more privileged
        ;    level switches to the TSS stack and pushes SS, ESP, EFLAGS, CS, EIP; it
        ;    clears IF (a trap gate does not), TF, NT, VM, RF. IRET to CPL 3 restores
        ;    them and nulls data segment registers with DPL < 3.
        POST 0x37
        TO_RING3 0x200                          ; IF = 1 at CPL 3
        mov eax, [TSS_ADDR + 4]
        mov [S_ESP0], eax
        mov [S_ESP3], esp
        int 0x40
.ret36: mov ebx, esp
        pushfd
        pop ecx
        mov edx, [S_ESP0]
        sub edx, 20
        CHECK [S_ESP], edx, "interrupt gate: handler ESP = ESP0 - 5 dwords"
        CHECK [S_SS], SEL_DATA0, "interrupt gate: handler SS = SS0"
        mov eax, [S_FL]
        and eax, 0x200
        CHECK eax, 0, "interrupt gate: IF in the handler"
        CHECK [S_FRAME], .ret36, "interrupt gate: saved EIP"
        CHECKW [S_FRAME + 4], SEL_CODE3, "interrupt gate: saved CS"
        mov eax, [S_FRAME + 8]
        and eax, 0x200
        CHECK eax, 0x200, "interrupt gate: saved EFLAGS.IF"
        CHECK [S_FRAME + 12], [S_ESP3], "interrupt gate: saved ESP"
        CHECKW [S_FRAME + 16], SEL_DATA3, "interrupt gate: saved SS"
        CHECK ebx, [S_ESP3], "ESP after IRET"
        and ecx, 0x200
        CHECK ecx, 0x200, "IF after IRET"
        mov ax, gs
        CHECKW ax, 0, "GS (DPL 0) nulled by IRET to CPL 3"
        mov ax, SEL_DATA3
        mov gs, ax

        ; -- 38: a trap gate leaves IF set (§6.12.1.2).
        POST 0x38
        int 0x41
        mov eax, [S_FL]
        and eax, 0x200
        CHECK eax, 0x200, "trap gate: IF in the handler"
        mov edx, [S_ESP0]
        sub edx, 20
        CHECK [S_ESP], edx, "trap gate: handler ESP"

        ; -- 39: a gate to a DPL-3 handler from CPL 3: no stack switch, 3 dwords.
        POST 0x39
        mov ebx, esp
        int 0x44
.ret39: lea edx, [ebx - 12]
        CHECK [S_ESP], edx, "same-privilege interrupt: ESP"
        CHECK [S_FRAME], .ret39, "same-privilege interrupt: saved EIP"
        CHECK [S_CS], SEL_CODE3, "same-privilege interrupt: CS"
        CHECK esp, ebx, "ESP after the same-privilege IRET"

        ; -- 3A: INT n (Vol. 2): "IF software interrupt and gate DPL < CPL THEN
        ;    #GP(vector * 8 + 2)" — bit 1 (IDT) set, EXT clear; INT3 and INTO alike.
        ;    "IF gate not present THEN #NP(vector * 8 + 2)".
        POST 0x3A
        XFAULT 13, 0x42 * 8 + 2, int 0x42
        XFAULT 13, 3 * 8 + 2, int3
        mov al, 0x7F
        add al, 1                               ; OF = 1
        XFAULT 13, 4 * 8 + 2, into
        XFAULT 11, 0x43 * 8 + 2, int 0x43
        TO_RING0
        ; Beyond the IDT limit (§6.10: "#GP if the vector exceeds the limit").
        mov dword [scratch + 0x80], (IDT_ADDR & 0xFFFF) << 16 | (0x48 * 8 - 1)
        mov dword [scratch + 0x84], IDT_ADDR >> 16
        lidt [scratch + 0x80]
        XFAULT 13, 0x50 * 8 + 2, int 0x50
        lidt [idtr_rom]

        ; INT n: #GP(selector + EXT) if the gate's selector is not a code segment or
        ; its DPL > CPL.
        XFAULT 13, SEL_DATA0, int 0x46
        XFAULT 13, SEL_CODE3 & 0xFFFC, int 0x44

        ; -- 3B: RET: "IF return code segment selector RPL < CPL THEN #GP(return code
        ;    segment selector)"; IRET likewise.
        POST 0x3B
        ; IRET to an outer level: "IF SS selector RPL != RPL of the return CS selector
        ; or ... SS DPL != RPL of the return CS selector THEN #GP(SS selector)".
        push dword SEL_DATA0                    ; RPL 0 != 3
        push dword STACK3_TOP
        pushfd
        push dword SEL_CODE3
        push dword .n0
        XFAULT 13, SEL_DATA0, iretd
.n0:    add esp, 20
        push dword SEL_DATA0 | 3                ; RPL 3, but DPL 0 != 3
        push dword STACK3_TOP
        pushfd
        push dword SEL_CODE3
        push dword .n00
        XFAULT 13, SEL_DATA0, iretd
.n00:   add esp, 20
        TO_RING3
        push dword SEL_CODE0
        push dword .n1
        XFAULT 13, SEL_CODE0, retf
.n1:    mov esp, STACK3_TOP
        pushfd
        push dword SEL_CODE0
        push dword .n2
        XFAULT 13, SEL_CODE0, iretd
.n2:    mov esp, STACK3_TOP

        ; -- 3C: INT n (Vol. 2): "IF code segment is conforming or code segment DPL =
        ;    CPL THEN INTRA-PRIVILEGE-LEVEL-INTERRUPT" (no stack switch, CS.RPL = CPL);
        ;    "IF code segment not present THEN #NP(selector + EXT)"; CALL through a
        ;    gate likewise #NP(code segment selector).
        POST 0x3C
        mov ebx, esp
        int 0x47
        lea edx, [ebx - 12]
        CHECK [S_ESP], edx, "conforming handler: ESP (no stack switch)"
        CHECK [S_CS], SEL_CONF0 | 3, "conforming handler: CS (CPL 3)"
        CHECK esp, ebx, "ESP after the conforming handler's IRET"
        XFAULT 11, SEL_CODE_NP, int 0x48
        XFAULT 11, SEL_CODE_NP, call SEL_GATE_CNP:0
        TO_RING0

        ; -- 3D: §18.5 / CLI, STI, POPF, IN (Vol. 2): with CPL > IOPL, CLI and STI raise
        ;    #GP(0); POPF changes neither IF nor IOPL (no fault); IN/OUT consult the
        ;    TSS I/O permission bitmap (0x70 denied, 0xE9 allowed). With IOPL = 3, CLI,
        ;    STI and IN/OUT to any port work; POPF at CPL > 0 still keeps IOPL.
        POST 0x3D
        TO_RING3
        XFAULT 13, 0, cli
        XFAULT 13, 0, sti
        pushfd
        or dword [esp], 0x3200
        popfd
        pushfd
        pop eax
        and eax, 0x3200
        CHECK eax, 0, "IF/IOPL after POPF at CPL 3, IOPL 0"
        XFAULT 13, 0, in al, 0x70
        mov dx, 0x70
        XFAULT 13, 0, out dx, al
        in al, 0xE9
        movzx eax, al
        CHECK eax, 0xE9, "IN from an allowed port at CPL 3"
        TO_RING0
        TO_RING3 0x3000
        sti
        pushfd
        pop eax
        and eax, 0x200
        CHECK eax, 0x200, "IF after STI at CPL 3, IOPL 3"
        cli
        pushfd
        pop eax
        and eax, 0x200
        CHECK eax, 0, "IF after CLI at CPL 3, IOPL 3"
        in al, 0x70                             ; IOPL >= CPL: no bitmap check
        pushfd
        and dword [esp], ~0x3000
        popfd
        pushfd
        pop eax
        and eax, 0x3000
        CHECK eax, 0x3000, "IOPL after POPF at CPL 3 (unchanged)"
        TO_RING0

        ; -- 3E: INT n: "IF descriptor is not an interrupt, trap, or task gate THEN
        ;    #GP(vector * 8 + 2 + EXT)".
        POST 0x3E
        SET_GATE 0x49, SEL_CODE0, int_handler, 0xEC     ; a call-gate type in the IDT
        XFAULT 13, 0x49 * 8 + 2, int 0x49

        DONE

; ---- handlers ---------------------------------------------------------------------------
; 32-bit call gate target (CPL 0): 7 dwords on the new stack.
cg32:
        RECORD 7
        push eax
        mov ax, SEL_DATA0
        mov es, ax
        pop eax
        retf 12

; Call gate target at CPL 1: SS, ESP, CS, EIP.
cg1:
        RECORD 4
        retf

; Call gate target at CPL 3 (same privilege).
cg_same:
        RECORD 2
        retf

; Interrupt/trap gate target (CPL 0): loads GS with DPL-0 data before returning.
int_handler:
        RECORD 5
        push eax
        mov ax, SEL_DATA0
        mov gs, ax
        pop eax
        iretd

; Interrupt gate target at CPL 3.
int_handler3:
        RECORD 3
        iretd

; ---- 16-bit code --------------------------------------------------------------------------
        bits 16
; At CPL 3 in a 16-bit code segment (SS = DATA3, a 32-bit stack at ESP < 64 KB).
r3_16:
        mov ax, SEL_DATA3                       ; IRET to CPL 3 nulled the DPL-0 DS
        mov ds, ax
        push word 0x1111                        ; parameter 1
        push word 0x2222                        ; parameter 2
        call SEL_GATE16:0
        ; (16-bit returns pop a 16-bit SP: compare the low half only)
.ret:   movzx eax, sp
        mov [scratch + 0x60], eax
        int 0x45
.ret2:  movzx eax, sp
        mov [scratch + 0x7C], eax
        mov eax, back32
        int VEC_RING0

; 16-bit call gate target: CPL 0, 16-bit code segment (CODE16). Frame of 6 words.
cg16:
        mov [ss:scratch + 0x40], esp
        push eax
        xor eax, eax
        mov ax, cs
        mov [ss:scratch + 0x44], eax
%assign k 0
%rep 6
        movzx eax, word [ss:esp + 4 + k * 2]
        mov [ss:scratch + 0x48 + k * 4], eax
%assign k k + 1
%endrep
        pop eax
        retf 4

; 16-bit interrupt gate target: IP, CS, FLAGS, SP, SS (16-bit each).
int16_handler:
        mov [ss:scratch + 0x64], esp
        push eax
%assign k 0
%rep 5
        movzx eax, word [ss:esp + 4 + k * 2]
        mov [ss:scratch + 0x68 + k * 4], eax
%assign k k + 1
%endrep
        pop eax
        iret

gdt_start:
        GDT_COMMON
        GATE SEL_CODE0, A(cg32), ACC_P | 0x60 | 0x0C, 3                      ; 0x40
        GATE SEL_CODE16, R(cg16), ACC_P | 0x60 | 0x04, 2                     ; 0x48
        DESC ROMBASE, 0xFFFF, ACC_P | 0x60 | ACC_CODE | ACC_R, 0             ; 0x50
        GATE SEL_CODE0, A(cg32), ACC_P | 0x0C, 0                             ; 0x58
        GATE SEL_CODE0, A(cg32), 0x60 | 0x0C, 0                              ; 0x60
        GATE SEL_DATA0, A(cg32), ACC_P | 0x60 | 0x0C, 0                      ; 0x68
        GATE SEL_CODE3, A(cg_same), ACC_P | 0x60 | 0x0C, 0                   ; 0x70
        DESC 0, 0xFFFFF, ACC_P | 0x20 | ACC_CODE | ACC_R, FL_G | FL_D        ; 0x78
        DESC 0, 0xFFFFF, ACC_P | 0x20 | ACC_DATA | ACC_W, FL_G | FL_D        ; 0x80
        GATE SEL_CODE1, A(cg1), ACC_P | 0x60 | 0x0C, 0                       ; 0x88
        DESC 0, 0xFFFFF, ACC_P | ACC_CODE | ACC_C | ACC_R, FL_G | FL_D       ; 0x90
        DESC 0, 0xFFFFF, ACC_CODE | ACC_R, FL_G | FL_D                       ; 0x98
        GATE SEL_CODE_NP, A(cg32), ACC_P | 0x60 | 0x0C, 0                    ; 0xA0
        GATE SEL_CONF0, A(cg_same), ACC_P | 0x60 | 0x0C, 0                   ; 0xA8
gdt_end:

        ROM_END
