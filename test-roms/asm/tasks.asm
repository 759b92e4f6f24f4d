; tasks.asm — hardware task switches (Intel SDM Vol. 3A chapter 7 "Task management":
; §7.2 TSS and descriptors, §7.3 "Task switching", §7.4 "Task linking"; Vol. 2 JMP,
; CALL, IRET, INT n "task gate" paths).
;
; Task A is the ROM's main task (the common TSS, SEL_TSS). Table 7-2 of the SDM:
;   busy flag of the new task: set by JMP, CALL, INT (must be clear), unchanged by IRET
;   busy flag of the old task: cleared by JMP and IRET, unchanged (set) by CALL/INT
;   NT of the new task: from its TSS for JMP and IRET, set by CALL/INT
;   NT of the old task: unchanged by JMP/CALL/INT, cleared (in its TSS image) by IRET
;   previous-task link of the new task: old TSS selector on CALL/INT, else unchanged
;   CR0.TS: set by every task switch
;
; POST codes:
;   40  JMP to a 32-bit TSS descriptor: state saved in the old TSS, loaded from the new
;       one; busy bits; NT = 0; TS set; JMP back resumes after the first JMP
;   41  CALL to a TSS: NT = 1 and the back-link in the new task; IRET returns through
;       the back-link and clears the busy bit and the saved NT of the returning task
;   42  CALL and JMP through a task gate in the GDT; the LDTR is loaded from the TSS
;   43  INT n through a task gate in the IDT; an exception (#GP) through a task gate
;       pushes its error code on the new task's stack
;   44  CR3 is loaded from the new task's TSS (paging on: different address spaces)
;   45  CALL to a 16-bit TSS; 16-bit task state (the upper words of the general registers
;       read FFFFh and those of EFLAGS 0, as on a P6); IRET back
;   46  faults: JMP/CALL to a busy TSS #GP(sel); IRET with NT = 1 and a non-busy link
;       #TS(sel); TSS limit < 67h #TS(sel); TSS not present #NP(sel); LTR of a busy
;       TSS or a non-TSS #GP(sel), of a not-present TSS #NP(sel)
;   47  a task switch into a TSS with EFLAGS.VM = 1 enters V86 mode
;   48  from CPL 3: a DPL-0 TSS is #GP(sel), a DPL-3 task gate to it works (§7.2.5:
;       the TSS descriptor's DPL is not checked through a task gate)

%include "common.inc"

SEL_TSS_B       equ 0x40                ; 32-bit TSS at TSS_B
SEL_TSS_C       equ 0x48                ; 32-bit TSS at TSS_C (the V86 task)
SEL_TSS16       equ 0x50                ; 16-bit TSS at TSS_16
SEL_TASKGATE    equ 0x58                ; task gate → SEL_TSS_B
SEL_TSS_SHORT   equ 0x60                ; 32-bit TSS with limit 0x50
SEL_TSS_NP      equ 0x68                ; 32-bit TSS, not present
SEL_LDT         equ 0x70                ; an LDT (for the LDTR load)
SEL_TASKGATE3   equ 0x78 | 3            ; task gate, DPL 3 → SEL_TSS_B

TSS_B           equ 0x6000
TSS_C           equ 0x6100
TSS_16          equ 0x6200
TSS_SHORT       equ 0x6300
STACK_B         equ 0x50000
STACK_16        equ 0x5000              ; SS = DATA16
STACK_C0        equ 0x58000             ; task C's ring-0 stack

PD_A            equ 0x10000
PD_B            equ 0x11000
PT_ID           equ 0x12000             ; identity 0-4 MB
PT_A            equ 0x13000             ; linear 4 MB → PHYS_X
PT_B            equ 0x14000             ; linear 4 MB → PHYS_Y
PHYS_X          equ 0x500000
PHYS_Y          equ 0x501000
MARK_X          equ 0x5A5A0001
MARK_Y          equ 0x5A5A0002

EFL_NT          equ 0x4000
EFL_VM          equ 0x20000
CR0_TS          equ 0x8

; TSS field offsets (32-bit)
T_LINK          equ 0x00
T_ESP0          equ 0x04
T_SS0           equ 0x08
T_CR3           equ 0x1C
T_EIP           equ 0x20
T_EFLAGS        equ 0x24
T_EAX           equ 0x28
T_ECX           equ 0x2C
T_EDX           equ 0x30
T_EBX           equ 0x34
T_ESP           equ 0x38
T_EBP           equ 0x3C
T_ESI           equ 0x40
T_EDI           equ 0x44
T_ES            equ 0x48
T_CS            equ 0x4C
T_SS            equ 0x50
T_DS            equ 0x54
T_FS            equ 0x58
T_GS            equ 0x5C
T_LDT           equ 0x60
T_IOMAP         equ 0x66

; TYPE_OF sel: EAX = the type field (bits 3:0 of the access byte) of a GDT descriptor.
%macro TYPE_OF 1
        movzx eax, byte [GDT_ADDR + ((%1) & 0xFFF8) + 5]
        and eax, 0x0F
%endmacro

        bits 32
rom_main:
        mov edi, LDT_ADDR
        xor eax, eax
        mov ecx, 4
        rep stosd

        ; -- 40: §7.3: JMP to an available TSS descriptor: the current state is saved in
        ;    the current TSS (EIP = the instruction after the JMP), the new task's state
        ;    is loaded from its TSS, TR = the new selector, CR0.TS is set. JMP clears the
        ;    old task's busy flag and sets the new one's; NT comes from the new TSS.
        POST 0x40
        call init_tss_b_jmp
        TYPE_OF SEL_TSS
        CHECK eax, 0xB, "task A's TSS is busy after LTR"
        TYPE_OF SEL_TSS_B
        CHECK eax, 0x9, "task B's TSS is available"
        mov ebx, 0x12345678
        mov ecx, 0x9ABCDEF0
        mov ebp, 0x0BADCAFE
        mov esi, esp
        jmp SEL_TSS_B:0xDEADBEEF                ; the offset is ignored
.after_jmp:
        ; back from task B (its JMP to SEL_TSS): our registers come from task A's TSS
        CHECK ebx, 0x12345678, "EBX restored from task A's TSS"
        CHECK ecx, 0x9ABCDEF0, "ECX restored from task A's TSS"
        CHECK ebp, 0x0BADCAFE, "EBP restored from task A's TSS"
        CHECK esp, esi, "ESP restored from task A's TSS"
        xor eax, eax
        str ax
        CHECK eax, SEL_TSS, "TR back in task A"
        TYPE_OF SEL_TSS
        CHECK eax, 0xB, "task A busy again"
        TYPE_OF SEL_TSS_B
        CHECK eax, 0x9, "task B available after its JMP away"
        CHECK [TSS_B + T_EIP], task_b_jmp.after, "task B's saved EIP"
        CHECK [TSS_B + T_EBX], 0xDDDDDDDD, "task B's saved EBX"
        CHECK [TSS_B + T_ECX], 0xC0C0C0C0, "task B's saved ECX"
        mov eax, cr0
        and eax, CR0_TS
        CHECK eax, CR0_TS, "CR0.TS set by the switch back"
        clts
        CHECK [scratch], 1, "task B ran its checks"

        ; -- 41: §7.4: CALL to a TSS sets NT in the new task and stores the old TSS
        ;    selector in the new TSS's previous-task link; the old task stays busy. IRET
        ;    with NT = 1 switches back to the linked task, clears the returning task's
        ;    busy flag and the NT flag in its saved EFLAGS image.
        POST 0x41
        mov edi, TSS_B
        mov eax, task_b_call
        call init_tss32
        mov dword [scratch], 0
        mov ebx, 0x41414141
        call SEL_TSS_B:0
.after_call:
        CHECK ebx, 0x41414141, "EBX after the nested task's IRET"
        CHECK [scratch], 1, "task B ran its checks"
        pushfd
        pop eax
        and eax, EFL_NT
        CHECK eax, 0, "NT in task A after the return"
        TYPE_OF SEL_TSS_B
        CHECK eax, 0x9, "IRET cleared task B's busy flag"
        TYPE_OF SEL_TSS
        CHECK eax, 0xB, "task A busy"
        mov eax, [TSS_B + T_EFLAGS]
        and eax, EFL_NT
        CHECK eax, 0, "IRET cleared NT in task B's saved EFLAGS"
        CHECK [TSS_B + T_EIP], task_b_call.after, "task B's saved EIP (after IRET)"
        CHECKW [TSS_B + T_LINK], SEL_TSS, "task B's link after the return (unchanged)"
        clts

        ; -- 42: §7.2.5: a task gate names a TSS; CALL/JMP through it switch tasks like
        ;    a TSS selector (the gate's DPL is checked, the TSS's is not). The new task's
        ;    LDTR is loaded from its TSS (§7.3 step 9).
        POST 0x42
        mov edi, TSS_B
        mov eax, task_b_call
        call init_tss32
        mov word [TSS_B + T_LDT], SEL_LDT
        mov dword [scratch], 0
        call SEL_TASKGATE:0
        CHECK [scratch], 1, "task B ran its checks (CALL through the task gate)"
        CHECK [scratch + 4], SEL_LDT, "LDTR in task B"
        sldt ax
        CHECKW ax, 0, "LDTR back in task A"
        call init_tss_b_jmp
        mov dword [scratch], 0
        mov ebx, 0x12345678
        mov ecx, 0x9ABCDEF0
        mov ebp, 0x0BADCAFE
        mov esi, esp
        jmp SEL_TASKGATE:0
.after_jmp2:
        CHECK ebx, 0x12345678, "EBX restored from task A's TSS (task gate)"
        CHECK [scratch], 1, "task B ran its checks (JMP through the task gate)"
        clts

        ; -- 43: §6.11 / §7.3: INT n through a task gate switches tasks (nested: NT,
        ;    link). An exception through a task gate pushes its error code on the new
        ;    task's stack; the old task's saved EIP is the faulting instruction.
        POST 0x43
        SET_GATE 0x50, SEL_TSS_B, 0, 0x85       ; task gate (the offset is unused)
        mov edi, TSS_B
        mov eax, task_b_call
        call init_tss32
        mov dword [scratch], 0
        int 0x50
.after_int:
        CHECK [scratch], 1, "task B ran its checks (INT through a task gate)"
        TYPE_OF SEL_TSS_B
        CHECK eax, 0x9, "task B available after the IRET"
        clts
        SET_GATE 13, SEL_TSS_B, 0, 0x85         ; #GP → task B
        mov edi, TSS_B
        mov eax, task_b_gp
        call init_tss32
        mov dword [scratch], 0
        mov bx, 0x1000                          ; beyond the GDT limit
.gp:    mov ds, bx
.after_gp:
        SET_GATE 13, SEL_CODE0, isr_stubs + 13 * 16, 0x8E
        CHECK [scratch], 1, "task B ran its checks (#GP through a task gate)"
        CHECK [scratch + 4], 0x1000, "error code on task B's stack"
        CHECK [scratch + 8], STACK_B - 4, "task B's ESP (error code pushed)"
        CHECK [scratch + 12], .gp, "task A's saved EIP = the faulting instruction"
        clts

        ; -- 44: §7.3 step 9: the new task's CR3 is loaded from its TSS (CR3 is not
        ;    saved in the old TSS: task A's CR3 field is set up here).
        POST 0x44
        call setup_paging
        mov eax, PD_A
        mov cr3, eax
        mov [TSS_ADDR + T_CR3], eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .pg
.pg:    CHECK [0x400000], MARK_X, "task A's view of linear 4 MB"
        mov edi, TSS_B
        mov eax, task_b_cr3
        call init_tss32
        mov dword [TSS_B + T_CR3], PD_B
        mov dword [scratch], 0
        call SEL_TSS_B:0
        CHECK [scratch], 1, "task B ran its checks"
        CHECK [scratch + 4], MARK_Y, "task B's view of linear 4 MB"
        CHECK [scratch + 8], PD_B, "CR3 in task B"
        mov eax, cr3
        CHECK eax, PD_A, "CR3 back in task A"
        CHECK [0x400000], MARK_X, "task A's view after the return"
        mov eax, cr0
        and eax, ~0x80000000
        mov cr0, eax
        jmp .nopg
.nopg:  mov dword [TSS_ADDR + T_CR3], 0
        xor eax, eax
        mov cr3, eax
        clts

        ; -- 45: §7.6: a 16-bit TSS (types 1/3) holds 16-bit state; CALL to it runs a
        ;    16-bit task (NT = 1, link); its IRET returns.
        POST 0x45
        call init_tss16
        mov dword [scratch], 0
        ; Upper register words and EFLAGS bits (AC, ID) the 16-bit task must not inherit.
        pushad
        pushfd
        or dword [esp], 0x240000
        popfd
        mov eax, 0xA5A50000
        mov ecx, eax
        mov edx, eax
        mov ebx, eax
        mov ebp, eax
        mov esi, eax
        mov edi, eax
        call SEL_TSS16:0
        pushfd
        and dword [esp], ~0x240000
        popfd
        popad
        CHECK [scratch], 1, "the 16-bit task ran its checks"
        ; §7.6: "the upper 16 bits of the registers are modified and not maintained";
        ; P6 processors (and Bochs, test386's reference) load FFFFh there. The 16-bit
        ; TSS has no upper EFLAGS word: those bits are lost, i.e. 0.
        CHECK [scratch + 0x20], 0xFFFF1616, "EAX loaded from a 16-bit TSS"
        CHECK [scratch + 0x24], 0xFFFF1111, "ECX loaded from a 16-bit TSS"
        CHECK [scratch + 0x28], 0xFFFF2222, "EDX loaded from a 16-bit TSS"
        CHECK [scratch + 0x2C], 0xFFFF3333, "EBX loaded from a 16-bit TSS"
        CHECK [scratch + 0x30], 0xFFFF0000 | STACK_16, "ESP loaded from a 16-bit TSS"
        CHECK [scratch + 0x34], 0xFFFF5555, "EBP loaded from a 16-bit TSS"
        CHECK [scratch + 0x38], 0xFFFF6666, "ESI loaded from a 16-bit TSS"
        CHECK [scratch + 0x3C], 0xFFFF7777, "EDI loaded from a 16-bit TSS"
        mov eax, [scratch + 0x40]
        and eax, 0xFFFF0000
        CHECK eax, 0, "EFLAGS upper word in the 16-bit task"
        TYPE_OF SEL_TSS16
        CHECK eax, 0x1, "16-bit TSS available after the IRET"
        CHECKW [TSS_16 + 0x0E], R(task16.after), "16-bit task's saved IP"
        CHECKW [TSS_16 + 0x12], 0x1617, "16-bit task's saved AX"
        clts

        ; -- 46: JMP/CALL (Vol. 2): "IF TSS descriptor specifies that the TSS is busy
        ;    THEN #GP(TSS selector)"; IRET: "IF TSS not busy THEN #TS(TSS selector)";
        ;    task switch: "#TS(TSS selector) if the TSS limit is less than 67H";
        ;    JMP/CALL: "IF TSS not present THEN #NP(TSS selector)".
        POST 0x46
        XFAULT 13, SEL_TSS, jmp SEL_TSS:0
        XFAULT 13, SEL_TSS, call SEL_TSS:0
        XFAULT 10, SEL_TSS_SHORT, jmp SEL_TSS_SHORT:0
        XFAULT 11, SEL_TSS_NP, call SEL_TSS_NP:0
        ; LTR: "#GP(selector) if the ... object pointed to is not an available TSS";
        ; "#NP(selector) if the TSS is marked not present".
        mov ax, SEL_TSS
        XFAULT 13, SEL_TSS, ltr ax
        mov ax, SEL_LDT
        XFAULT 13, SEL_LDT, ltr ax
        mov ax, SEL_TSS_NP
        XFAULT 11, SEL_TSS_NP, ltr ax
        mov word [TSS_ADDR + T_LINK], SEL_TSS_B  ; available, not busy
        pushfd
        or dword [esp], EFL_NT
        popfd
        XFAULT 10, SEL_TSS_B, iretd
        pushfd
        and dword [esp], ~EFL_NT
        popfd
        mov word [TSS_ADDR + T_LINK], 0
        clts

        ; -- 47: §20.2.5: "The processor also switches to virtual-8086 mode when a task
        ;    switch loads EFLAGS with VM = 1": the segment registers are loaded as
        ;    8086 paragraphs and the task runs at CPL 3.
        POST 0x47
        call init_tss_v86
        mov dword [scratch], 0
        mov ebx, 0x47474747
        jmp SEL_TSS_C:0
        ; task C continues in task_c_ring0, which JMPs back here
        CHECK ebx, 0x47474747, "EBX restored for task A"
        CHECK [0x40000], 0x86868686, "V86 task's write at DS:0000"
        CHECK [scratch + 4], 0xF000, "CS in the V86 task"
        CHECK [scratch + 8], 0x4000, "DS in the V86 task"
        CHECK [scratch + 12], 0x0800, "SS in the V86 task"
        CHECK [scratch + 16], SEL_TSS_C, "TR in task C's ring-0 code"
        mov eax, [scratch + 20]
        and eax, EFL_VM
        CHECK eax, EFL_VM, "VM in the frame of task C's #GP"
        TYPE_OF SEL_TSS_C
        CHECK eax, 0x9, "task C available after the JMP back"
        clts

        ; -- 48: JMP/CALL: "IF TSS DPL < CPL or RPL THEN #GP(TSS selector)"; through a
        ;    task gate only the gate's DPL is checked (§7.2.5), so CPL 3 can call a
        ;    DPL-0 task; the nested task's IRET returns to CPL 3.
        POST 0x48
        mov edi, TSS_B
        mov eax, task_b_call
        call init_tss32
        mov dword [scratch], 0
        TO_RING3
        XFAULT 13, SEL_TSS_B, jmp SEL_TSS_B:0
        call SEL_TASKGATE3:0
        CHECK [scratch], 1, "task B ran its checks (task gate from CPL 3)"
        mov ax, cs
        CHECKW ax, SEL_CODE3, "CS after returning from the task"
        mov ax, ss
        CHECKW ax, SEL_DATA3, "SS after returning from the task"
        TO_RING0
        clts

        DONE

; ---- helpers ------------------------------------------------------------------------------
; Task B for the JMP tests, with recognisable register values.
init_tss_b_jmp:
        mov edi, TSS_B
        mov eax, task_b_jmp
        call init_tss32
        mov dword [TSS_B + T_EAX], 0xB0B0B0B0
        mov dword [TSS_B + T_EBX], 0xB1B1B1B1
        mov dword [TSS_B + T_EBP], 0xB2B2B2B2
        mov dword [TSS_B + T_EFLAGS], 0x0802 | 0x0001     ; OF, CF
        ret

; init_tss32: EDI = TSS, EAX = EIP. A flat ring-0 task on STACK_B, with the current CR3.
init_tss32:
        push eax
        push edi
        xor eax, eax
        mov ecx, 0x68 / 4
        rep stosd
        pop edi
        pop eax
        mov [edi + T_EIP], eax
        mov dword [edi + T_EFLAGS], 2
        mov dword [edi + T_ESP], STACK_B
        mov dword [edi + T_ESP0], STACK_B
        mov dword [edi + T_SS0], SEL_DATA0
        mov dword [edi + T_CS], SEL_CODE0
        mov eax, SEL_DATA0
        mov [edi + T_SS], eax
        mov [edi + T_DS], eax
        mov [edi + T_ES], eax
        mov [edi + T_FS], eax
        mov [edi + T_GS], eax
        mov eax, cr3
        mov [edi + T_CR3], eax
        mov word [edi + T_IOMAP], 0x68
        ret

init_tss16:
        mov edi, TSS_16
        xor eax, eax
        mov ecx, 0x2C / 4
        rep stosd
        mov word [TSS_16 + 0x02], STACK_16      ; SP0
        mov word [TSS_16 + 0x04], SEL_DATA16    ; SS0
        mov word [TSS_16 + 0x0E], R(task16)     ; IP
        mov word [TSS_16 + 0x10], 2             ; FLAGS
        mov word [TSS_16 + 0x12], 0x1616        ; AX
        mov word [TSS_16 + 0x14], 0x1111        ; CX
        mov word [TSS_16 + 0x16], 0x2222        ; DX
        mov word [TSS_16 + 0x18], 0x3333        ; BX
        mov word [TSS_16 + 0x1C], 0x5555        ; BP
        mov word [TSS_16 + 0x1E], 0x6666        ; SI
        mov word [TSS_16 + 0x20], 0x7777        ; DI
        mov word [TSS_16 + 0x1A], STACK_16      ; SP
        mov word [TSS_16 + 0x22], SEL_DATA16    ; ES
        mov word [TSS_16 + 0x24], SEL_CODE16    ; CS
        mov word [TSS_16 + 0x26], SEL_DATA16    ; SS
        mov word [TSS_16 + 0x28], SEL_DATA16    ; DS
        ret

init_tss_v86:
        mov edi, TSS_C
        mov eax, R(task_c_v86)
        call init_tss32
        mov dword [TSS_C + T_EFLAGS], EFL_VM | 2
        mov dword [TSS_C + T_ESP0], STACK_C0
        mov dword [TSS_C + T_CS], 0xF000
        mov dword [TSS_C + T_SS], 0x0800
        mov dword [TSS_C + T_ESP], 0x1000
        mov dword [TSS_C + T_DS], 0x4000
        xor eax, eax
        mov [TSS_C + T_ES], eax
        mov [TSS_C + T_FS], eax
        mov [TSS_C + T_GS], eax
        ret

setup_paging:
        mov edi, PD_A
        mov ecx, 0x5000 / 4
        xor eax, eax
        rep stosd
        mov edi, PT_ID
        mov eax, 3
        mov ecx, 1024
.l:     stosd
        add eax, 0x1000
        loop .l
        mov dword [PD_A], PT_ID | 3
        mov dword [PD_A + 4], PT_A | 3
        mov dword [PD_B], PT_ID | 3
        mov dword [PD_B + 4], PT_B | 3
        mov dword [PT_A], PHYS_X | 3
        mov dword [PT_B], PHYS_Y | 3
        mov dword [PHYS_X], MARK_X
        mov dword [PHYS_Y], MARK_Y
        ret

; ---- task B entry points (CPL 0, flat, STACK_B) -------------------------------------------
; Entered by JMP from task A (steps 40 and 42).
task_b_jmp:
        pushfd
        CHECK eax, 0xB0B0B0B0, "EAX loaded from task B's TSS"
        pop eax
        and eax, 0x0801
        CHECK eax, 0x0801, "EFLAGS (OF, CF) loaded from task B's TSS"
        CHECK ebx, 0xB1B1B1B1, "EBX loaded from task B's TSS"
        CHECK ebp, 0xB2B2B2B2, "EBP loaded from task B's TSS"
        CHECK esp, STACK_B, "ESP loaded from task B's TSS"
        xor eax, eax
        str ax
        CHECK eax, SEL_TSS_B, "TR in task B"
        TYPE_OF SEL_TSS
        CHECK eax, 0x9, "JMP cleared task A's busy flag"
        TYPE_OF SEL_TSS_B
        CHECK eax, 0xB, "JMP set task B's busy flag"
        pushfd
        pop eax
        and eax, EFL_NT
        CHECK eax, 0, "NT after a JMP task switch"
        CHECKW [TSS_B + T_LINK], 0, "task B's link after a JMP (unchanged)"
        mov eax, cr0
        and eax, CR0_TS
        CHECK eax, CR0_TS, "CR0.TS after a task switch"
        CHECK [TSS_ADDR + T_EBX], 0x12345678, "task A's saved EBX"
        CHECK [TSS_ADDR + T_ECX], 0x9ABCDEF0, "task A's saved ECX"
        mov edx, [TSS_ADDR + T_ESI]             ; task A put its ESP in ESI
        CHECK [TSS_ADDR + T_ESP], edx, "task A's saved ESP"
        CHECKW [TSS_ADDR + T_CS], SEL_CODE0, "task A's saved CS"
        CHECKW [TSS_ADDR + T_SS], SEL_DATA0, "task A's saved SS"
        mov eax, [TSS_ADDR + T_EIP]
        cmp eax, rom_main.after_jmp
        je .eip_ok
        cmp eax, rom_main.after_jmp2
        je .eip_ok
        mov edx, rom_main.after_jmp
        FAIL "task A's saved EIP (after the JMP)"
.eip_ok:
        clts
        mov dword [scratch], 1
        mov ebx, 0xDDDDDDDD                     ; task A must not see these
        mov ecx, 0xC0C0C0C0
        mov ebp, 0xEEEEEEEE
        jmp SEL_TSS:0
.after:
        FAILN "task B resumed after its JMP away"

; Entered by CALL / INT (nested): checks NT and the link, returns with IRET.
task_b_call:
        xor eax, eax
        str ax
        CHECK eax, SEL_TSS_B, "TR in task B (nested)"
        pushfd
        pop eax
        and eax, EFL_NT
        CHECK eax, EFL_NT, "NT after a CALL/INT task switch"
        CHECKW [TSS_B + T_LINK], SEL_TSS, "task B's previous-task link"
        TYPE_OF SEL_TSS
        CHECK eax, 0xB, "CALL kept task A busy"
        TYPE_OF SEL_TSS_B
        CHECK eax, 0xB, "CALL set task B busy"
        xor eax, eax
        sldt ax
        mov [scratch + 4], eax
        mov dword [scratch], 1
        mov ebx, 0xDDDDDDDD
        iretd
.after:
        FAILN "task B resumed after its IRET"

; Entered by #GP through a task gate: the error code is on this task's stack.
task_b_gp:
        mov eax, [esp]
        mov [scratch + 4], eax
        mov [scratch + 8], esp
        mov eax, [TSS_ADDR + T_EIP]
        mov [scratch + 12], eax
        ; resume task A after the faulting MOV DS
        mov dword [TSS_ADDR + T_EIP], rom_main.after_gp
        add esp, 4
        mov dword [scratch], 1
        iretd

; Step 44: report CR3 and the view of linear 4 MB.
task_b_cr3:
        mov eax, cr3
        mov [scratch + 8], eax
        mov eax, [0x400000]
        mov [scratch + 4], eax
        mov dword [scratch], 1
        iretd

; Task C, ring-0 part: reached from the V86 code's HLT (#GP, armed with 3).
task_c_ring0:
        mov esp, STACK_C0
        xor eax, eax
        str ax
        mov [scratch + 16], eax
        mov eax, [exc_eflags]
        mov [scratch + 20], eax
        jmp SEL_TSS:0

; ---- 16-bit task (CS = CODE16, SS = DS = ES = DATA16) --------------------------------------
        bits 16
task16:
        mov [scratch + 0x20], eax
        mov [scratch + 0x24], ecx
        mov [scratch + 0x28], edx
        mov [scratch + 0x2C], ebx
        mov [scratch + 0x30], esp
        mov [scratch + 0x34], ebp
        mov [scratch + 0x38], esi
        mov [scratch + 0x3C], edi
        pushfd
        pop dword [scratch + 0x40]
        CHECKW16 ax, 0x1616, "AX loaded from the 16-bit TSS"
        str ax
        CHECKW16 ax, SEL_TSS16, "TR in the 16-bit task"
        pushf
        pop ax
        and eax, EFL_NT
        CHECK16 eax, EFL_NT, "NT in the 16-bit task"
        CHECKW16 [TSS_16 + 0], SEL_TSS, "16-bit TSS link"
        movzx eax, byte [GDT_ADDR + SEL_TSS16 + 5]
        and eax, 0x0F
        CHECK16 eax, 0x3, "busy 16-bit TSS type"
        mov dword [scratch], 1
        mov ax, 0x1617
        iret
.after:
        FAILN16 "the 16-bit task resumed after its IRET"

; ---- V86 task (task C) -----------------------------------------------------------------------
task_c_v86:
        mov dword [0], 0x86868686               ; DS = 4000: linear 40000
        xor ax, ax
        mov es, ax
        xor eax, eax
        mov ax, cs
        mov [es:scratch + 4], eax
        mov ax, ds
        mov [es:scratch + 8], eax
        mov ax, ss
        mov [es:scratch + 12], eax
        mov dword [es:exc_resume], task_c_ring0
        mov dword [es:exc_armed], 3
        hlt                                     ; #GP(0) → the ring-0 handler of task C

gdt_start:
        GDT_COMMON
        DESC TSS_B, 0x67, ACC_P | 0x09, 0                                    ; 0x40
        DESC TSS_C, 0x67, ACC_P | 0x09, 0                                    ; 0x48
        DESC TSS_16, 0x2B, ACC_P | 0x01, 0                                   ; 0x50
        GATE SEL_TSS_B, 0, ACC_P | 0x05, 0                                   ; 0x58
        DESC TSS_SHORT, 0x50, ACC_P | 0x09, 0                                ; 0x60
        DESC TSS_B, 0x67, 0x09, 0                                            ; 0x68
        DESC LDT_ADDR, 0x0F, ACC_P | 0x02, 0                                 ; 0x70
        GATE SEL_TSS_B, 0, ACC_P | 0x60 | 0x05, 0                            ; 0x78
gdt_end:

        ROM_END
