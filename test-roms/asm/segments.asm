; segments.asm — descriptor checks on segment-register loads and segment limit checks
; (Intel SDM Vol. 3A §3.4 "Segment descriptors", §5.3-5.7 "Limit checking",
; "Type checking", "Privilege levels", "Privilege level checking when accessing data
; segments"; Vol. 2 MOV/POP/LDS "Protected Mode Exceptions").
;
; Error codes of selector faults carry the selector's index and TI bit with EXT = IDT = 0
; in place of the RPL (§6.13), i.e. selector & 0xFFFC for the GDT.
;
; POST codes:
;   20  the accessed bit is set in the GDT when a descriptor is loaded
;   21  not-present segments: #NP(sel) for DS/ES/FS/GS, #SS(sel) for SS
;   22  wrong types: execute-only code, system descriptors, read-only data into SS
;   23  DPL/RPL/CPL rules at CPL 0 (data: max(CPL, RPL) <= DPL; SS: RPL = DPL = CPL)
;   24  null selectors: allowed in DS..GS, #GP(0) on use; #GP(0) into SS
;   25  selectors beyond the GDT limit; readable code as data (read ok, write #GP)
;   26  limits: byte and 4 KB granularity (G = 1 scales the limit: limit * 4K + FFF)
;   27  expand-down data segments (B = 1 and B = 0 upper bounds)
;   28  stack segment limits: #SS(0); an expand-down stack
;   29  code segment limit: far and near jumps beyond it raise #GP(0)
;   2A  LDT: TI = 1 selectors with a null LDTR, LLDT, loads from the LDT
;   2B  conforming code segments at CPL 0
;   2C  LDS/LES/POP do the same checks as MOV
;   2D  LAR, LSL, VERR, VERW
;   2E  ring 3: DPL checks for data, SS and code; conforming code keeps CPL 3;
;       LAR/VERR visibility at CPL 3

%include "common.inc"

SEL_NP          equ 0x40                ; RW data, DPL 0, not present
SEL_XO          equ 0x48                ; execute-only code, DPL 0
SEL_RO          equ 0x50                ; read-only data, DPL 0, flat
SEL_LDT         equ 0x58                ; LDT descriptor → LDT_ADDR
SEL_ED          equ 0x60                ; expand-down, B = 1, base 1 MB, limit FFF
SEL_ED16        equ 0x68                ; expand-down, B = 0, base 1 MB, limit FFF
SEL_G           equ 0x70                ; base 2 MB, limit 1, G = 1 → 0x1FFF
SEL_NOACC       equ 0x78                ; RW data, DPL 0, accessed bit clear
SEL_CONF0       equ 0x80                ; conforming readable code, DPL 0, flat
SEL_CONF3       equ 0x88                ; conforming readable code, DPL 3, flat
SEL_BYTE        equ 0x90                ; base 2 MB, limit FFF, G = 0
SEL_SMALL       equ 0x98                ; RW data, base 0, limit FFFFF, G = 0 (1 MB)
SEL_CODE_LIM    equ 0xA0                ; 32-bit code, base 0, limit FFFFF, G = 0 (1 MB)
SEL_DATA1       equ 0xA8                ; RW data, DPL 1, flat

SEL_ED3         equ 0xB3                ; expand-down, B = 1, DPL 3, base 2 MB, limit FFF

SEG_BASE        equ 0x200000

        bits 32
rom_main:
        ; -- 20: §3.4.5 type field, bit 0 (accessed): "The processor sets this bit when
        ;    it loads a segment selector for the segment into a segment register".
        POST 0x20
        movzx eax, byte [GDT_ADDR + SEL_NOACC + 5]
        CHECK eax, 0x92, "access byte before the load"
        mov ax, SEL_NOACC
        mov es, ax
        movzx eax, byte [GDT_ADDR + SEL_NOACC + 5]
        CHECK eax, 0x93, "access byte after MOV ES (accessed bit)"
        mov ax, SEL_DATA0
        mov es, ax

        ; -- 21: MOV Sreg: "#NP(selector) if the DS, ES, FS, or GS register is being
        ;    loaded and the segment pointed to is marked not present"; "#SS(selector) if
        ;    the SS register is being loaded and the segment is marked not present".
        POST 0x21
        mov bx, SEL_NP
        XFAULT 11, SEL_NP, mov ds, bx
        XFAULT 11, SEL_NP, mov es, bx
        XFAULT 11, SEL_NP, mov fs, bx
        XFAULT 11, SEL_NP, mov gs, bx
        XFAULT 12, SEL_NP, mov ss, bx
        ; A failed load leaves the register unchanged.
        mov ax, ds
        CHECKW ax, SEL_DATA0, "DS after a faulting load"
        mov ax, ss
        CHECKW ax, SEL_DATA0, "SS after a faulting load"

        ; -- 22: MOV Sreg: #GP(selector) "if the DS, ES, FS, or GS register is being
        ;    loaded and the segment pointed to is not a data or readable code segment";
        ;    "if the SS register is being loaded and the segment pointed to is a
        ;    non-writable data segment" (or not a data segment at all).
        POST 0x22
        mov bx, SEL_XO
        XFAULT 13, SEL_XO, mov ds, bx
        XFAULT 13, SEL_XO, mov gs, bx
        mov bx, SEL_TSS
        XFAULT 13, SEL_TSS, mov ds, bx
        mov bx, SEL_LDT
        XFAULT 13, SEL_LDT, mov es, bx
        mov bx, SEL_RO
        XFAULT 13, SEL_RO, mov ss, bx
        mov bx, SEL_CODE0
        XFAULT 13, SEL_CODE0, mov ss, bx
        ; Read-only data loads into DS; writes through it raise #GP(0) (§5.5).
        mov dword [0x5000], 0x600DF00D
        mov ax, SEL_RO
        mov fs, ax
        CHECK [fs:0x5000], 0x600DF00D, "read through a read-only data segment"
        XFAULT 13, 0, mov dword [fs:0x5000], 1
        mov ax, SEL_DATA0
        mov fs, ax

        ; -- 23: §5.7: a data segment (or non-conforming readable code) loads only if
        ;    max(CPL, RPL) <= DPL; SS only if RPL = CPL and DPL = CPL (MOV: #GP(sel)
        ;    "if the SS register is being loaded and the segment selector's RPL and the
        ;    segment descriptor's DPL are not equal to the CPL").
        POST 0x23
        mov bx, SEL_DATA0 | 3
        XFAULT 13, SEL_DATA0, mov ds, bx        ; RPL 3 > DPL 0
        mov bx, SEL_DATA1 | 2
        XFAULT 13, SEL_DATA1, mov es, bx        ; RPL 2 > DPL 1
        mov bx, SEL_DATA1 | 1
        mov es, bx                              ; RPL 1 = DPL 1: fine
        mov bx, SEL_DATA3 | 3
        mov es, bx                              ; DPL 3 >= everything: fine
        mov bx, SEL_CODE3
        mov es, bx                              ; readable code, DPL 3 >= CPL 0: fine
        mov bx, SEL_DATA3                       ; RPL 3 != CPL 0
        XFAULT 13, SEL_DATA3 & 0xFFFC, mov ss, bx
        mov bx, SEL_DATA3 & 0xFFFC              ; RPL 0, but DPL 3 != CPL 0
        XFAULT 13, SEL_DATA3 & 0xFFFC, mov ss, bx
        mov bx, SEL_DATA1 | 1
        XFAULT 13, SEL_DATA1, mov ss, bx
        mov bx, SEL_DATA0 | 1
        XFAULT 13, SEL_DATA0, mov ss, bx        ; RPL 1 != CPL 0
        mov ax, SEL_DATA0
        mov es, ax

        ; -- 24: §5.4.1 / MOV: a null selector (0-3) can be loaded into DS, ES, FS, GS;
        ;    "#GP(0) if a memory operand effective address is outside the segment
        ;    limit" — any access through a null selector raises #GP(0). "#GP(0) if
        ;    attempt is made to load SS register with NULL segment selector".
        POST 0x24
        xor bx, bx
        mov ds, bx
        XFAULT 13, 0, mov eax, [ds:0x600]
        mov bx, 3
        mov es, bx
        XFAULT 13, 0, mov byte [es:0x5000], 1
        mov edi, 0x5000
        XFAULT 13, 0, stosb
        xor bx, bx
        mov fs, bx
        XFAULT 13, 0, mov eax, [fs:0]
        XFAULT 13, 0, mov ss, bx
        mov bx, 3
        XFAULT 13, 0, mov ss, bx
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov fs, ax

        ; -- 25: MOV: #GP(selector) "if segment selector index is outside descriptor
        ;    table limits". Readable code can be read as data but not written (§5.5).
        POST 0x25
        mov bx, gdt_end - gdt_start
        XFAULT 13, gdt_end - gdt_start, mov ds, bx
        mov bx, 0x1000
        XFAULT 13, 0x1000, mov fs, bx
        mov ax, SEL_CODE0
        mov gs, ax
        mov eax, [gs:gdtr_rom]
        CHECK eax, [gdtr_rom], "read through a readable code segment"
        XFAULT 13, 0, mov dword [gs:0x5000], 0
        mov ax, SEL_DATA0
        mov gs, ax
        ; §5.5: "no instruction may write into a code segment" — nor through CS.
        XFAULT 13, 0, mov dword [cs:0x5000], 0

        ; -- 26: §3.4.5: "If the granularity flag is clear, the segment size can range
        ;    from 1 byte to 1 MByte, in byte increments. If the flag is set, ... from
        ;    4 KBytes to 4 GBytes, in 4-KByte increments" — effective limit
        ;    (limit << 12) | FFF. §5.3: an access with any byte beyond the limit #GP(0).
        POST 0x26
        mov dword [SEG_BASE + 0xFFC], 0x11111111
        mov dword [SEG_BASE + 0x1FFC], 0x22222222
        mov ax, SEL_BYTE
        mov es, ax
        CHECK [es:0xFFC], 0x11111111, "last dword of a byte-granular segment"
        mov al, [es:0xFFF]
        XFAULT 13, 0, mov al, [es:0x1000]
        XFAULT 13, 0, mov ax, [es:0xFFF]
        XFAULT 13, 0, mov eax, [es:0xFFD]
        mov ax, SEL_G
        mov es, ax
        CHECK [es:0x1FFC], 0x22222222, "last dword of a 4 KB-granular segment"
        mov al, [es:0x1FFF]
        XFAULT 13, 0, mov al, [es:0x2000]
        XFAULT 13, 0, mov ax, [es:0x1FFF]
        mov esi, 0xFFFFFFF0
        XFAULT 13, 0, mov al, [es:esi]
        mov ax, SEL_DATA0
        mov es, ax

        ; -- 27: §5.3: for expand-down segments "the effective limit specifies the last
        ;    address that is not allowed to be accessed"; valid offsets run from
        ;    limit + 1 to FFFFFFFF (B = 1) or FFFF (B = 0).
        POST 0x27
        mov dword [SEG_BASE + 0x1000], 0x33333333
        mov dword [SEG_BASE + 0xFFFC], 0x44444444
        mov dword [(SEG_BASE + 0xFFFFFFFC) & 0xFFFFFFFF], 0x55555555
        mov ax, SEL_ED
        mov es, ax
        CHECK [es:0x1000], 0x33333333, "first dword of an expand-down segment"
        CHECK [es:0xFFFC], 0x44444444, "expand-down (B=1) at FFFC"
        CHECK [es:0xFFFFFFFC], 0x55555555, "expand-down (B=1) at FFFFFFFC"
        XFAULT 13, 0, mov al, [es:0xFFF]
        XFAULT 13, 0, mov al, [es:0]
        XFAULT 13, 0, mov eax, [es:0xFFE]
        mov ax, SEL_ED16
        mov es, ax
        CHECK [es:0x1000], 0x33333333, "first dword of an expand-down (B=0) segment"
        CHECK [es:0xFFFC], 0x44444444, "expand-down (B=0) at FFFC"
        mov al, [es:0xFFFF]
        XFAULT 13, 0, mov al, [es:0xFFF]
        XFAULT 13, 0, mov eax, [es:0xFFFE]
        XFAULT 13, 0, mov al, [es:0x10000]
        mov ax, SEL_DATA0
        mov es, ax

        ; -- 28: §5.3 / MOV: "#SS(0) if a memory operand effective address is outside
        ;    the SS segment limit". The stack segment here is 1 MB (G = 0).
        POST 0x28
        mov ax, SEL_SMALL
        mov ss, ax
        movzx eax, byte [GDT_ADDR + SEL_SMALL + 5]
        CHECK eax, 0x93, "accessed bit after MOV SS"
        mov eax, [ss:0xFFFFC]
        XFAULT 12, 0, mov eax, [ss:0x100000]
        XFAULT 12, 0, mov eax, [ss:0xFFFFE]
        mov ebp, 0x100000
        XFAULT 12, 0, mov eax, [ebp]            ; EBP-based addresses use SS
        ; An expand-down stack (§3.4.5.1 "expand-down ... for stacks"): pushes work
        ; above the limit, an SS access at or below it is #SS(0). (A push that crosses
        ; the limit is tested at CPL 3, step 2D, where the #SS handler gets a fresh
        ; stack.)
        %define VSEG ds
        mov edx, esp
        mov ax, SEL_ED
        mov ss, ax
        mov esp, 0x2000
        push dword 0xABCD1234
        CHECK [SEG_BASE + 0x1FFC], 0xABCD1234, "push onto an expand-down stack"
        pop eax
        CHECK eax, 0xABCD1234, "pop from an expand-down stack"
        XFAULT 12, 0, mov eax, [ss:0x800]
        XFAULT 12, 0, mov eax, [ss:0xFFE]
        %define VSEG ss
        mov ax, SEL_DATA0
        mov ss, ax
        mov esp, edx

        ; -- 29: JMP: "#GP(0) if the target operand is beyond the code segment limits"
        ;    (far and near). The fault is reported at the JMP itself.
        POST 0x29
        XFAULT 13, 0, jmp SEL_CODE_LIM:0x100000
        jmp SEL_CODE_LIM:in_lim_code
in_lim_code:
        mov ax, cs
        CHECKW ax, SEL_CODE_LIM, "CS in the 1 MB code segment"
        movzx eax, byte [GDT_ADDR + SEL_CODE_LIM + 5]
        CHECK eax, 0x9B, "accessed bit after loading CS by a far JMP"
        mov eax, 0x100000
        XFAULT 13, 0, jmp eax
        mov ax, cs
        CHECKW ax, SEL_CODE_LIM, "CS after the near-jump fault"
        jmp SEL_CODE0:.back
.back:

        ; -- 2A: §3.5.1: a selector with TI = 1 uses the LDT; with a null LDTR any such
        ;    load is #GP(selector) (MOV: "index outside descriptor table limits").
        ;    LLDT loads the LDTR from an LDT descriptor; limits apply to the LDT too.
        POST 0x2A
        mov bx, 0x04
        XFAULT 13, 0x04, mov ds, bx
        mov edi, LDT_ADDR
        mov esi, ldt_template
        mov ecx, ldt_template_end - ldt_template
        rep movsb
        mov ax, SEL_TSS
        XFAULT 13, SEL_TSS, lldt ax             ; LLDT: "#GP(selector) if ... not an LDT"
        mov ax, SEL_LDT
        lldt ax
        sldt ax
        CHECKW ax, SEL_LDT, "SLDT"
        mov dword [0x300010], 0x7E577E57
        mov ax, 0x04                            ; LDT entry 0: base 3 MB, 64 KB
        mov es, ax
        CHECK [es:0x10], 0x7E577E57, "read through LDT entry 0"
        XFAULT 13, 0, mov al, [es:0x10000]
        mov bx, 0x14                            ; LDT entry 2: not present
        XFAULT 11, 0x14, mov fs, bx
        mov bx, 0x1C                            ; entry 3 is beyond the LDT limit
        XFAULT 13, 0x1C, mov fs, bx
        mov bx, 0x0F                            ; entry 1, DPL 3, RPL 3
        mov fs, bx
        CHECK [fs:0x300010], 0x7E577E57, "read through LDT entry 1"
        movzx eax, byte [LDT_ADDR + 8 + 5]
        CHECK eax, 0xF3, "accessed bit set in the LDT"
        mov ax, SEL_DATA0
        mov es, ax
        mov fs, ax
        xor ax, ax
        lldt ax

        ; -- 2B: §5.8.1.2: a conforming code segment can be entered by a far JMP/CALL if
        ;    its DPL <= CPL; CPL does not change (CS.RPL is set to the CPL). A DPL
        ;    higher than the CPL is #GP(selector). Readable conforming code can be
        ;    loaded into DS at any privilege (§5.7: no DPL check).
        POST 0x2B
        XFAULT 13, SEL_CONF3, jmp SEL_CONF3:conf_code
        call SEL_CONF0:conf_code
        CHECKW bx, SEL_CONF0, "CS inside the DPL-0 conforming segment"
        mov ax, SEL_CONF3
        mov ds, ax
        mov eax, [gdtr_rom]
        mov ax, SEL_DATA0
        mov ds, ax

        ; -- 2C: LDS, LES and POP Sreg perform the checks of MOV Sreg.
        POST 0x2C
        mov dword [0x5000], 0x1234
        mov word [0x5004], SEL_NP
        XFAULT 11, SEL_NP, lds eax, [0x5000]
        mov word [0x5004], SEL_XO
        XFAULT 13, SEL_XO, les eax, [0x5000]
        mov word [0x5004], SEL_DATA3
        lfs eax, [0x5000]
        mov ax, fs
        CHECKW ax, SEL_DATA3, "FS after LFS"
        push dword SEL_XO
        XFAULT 13, SEL_XO, pop es
        add esp, 4
        push dword SEL_NP
        XFAULT 11, SEL_NP, pop gs
        add esp, 4
        push dword 0
        XFAULT 13, 0, pop ss
        add esp, 4
        mov ax, SEL_DATA0
        mov fs, ax

        ; -- 2D: LAR, LSL, VERR, VERW (Vol. 2) check a selector without loading it:
        ;    ZF = 1 and the access rights (second dword & 00FxFF00h) / the byte-granular
        ;    limit (scaled when G = 1) if the descriptor is valid for the instruction and
        ;    visible at max(CPL, RPL); ZF = 0 otherwise. LAR/LSL accept data, code, TSS
        ;    and LDT descriptors whether present or not; VERR needs a readable segment,
        ;    VERW a writable data segment.
        POST 0x2D
        mov ecx, SEL_G
        lsl eax, ecx
        jz .z1
        FAILN "LSL of a valid data segment: ZF = 0"
.z1:    CHECK eax, 0x1FFF, "LSL of a G = 1 segment (limit 1 → 1FFFh)"
        mov ecx, SEL_TSS
        lsl eax, ecx
        CHECK eax, TSS_LIMIT, "LSL of the TSS"
        mov ecx, SEL_DATA0
        lar eax, ecx
        and eax, 0x00F0FF00
        CHECK eax, 0x00C09300, "LAR of the flat data segment"
        mov ecx, SEL_NP                         ; not present: still valid for LAR
        lar eax, ecx
        jz .z2
        FAILN "LAR of a not-present data segment: ZF = 0"
.z2:    mov eax, 0x5A5A5A5A
        xor ecx, ecx
        lar eax, ecx                            ; null selector: ZF = 0, EAX unchanged
        jnz .z3
        FAILN "LAR of the null selector: ZF = 1"
.z3:    CHECK eax, 0x5A5A5A5A, "LAR with ZF = 0 leaves the destination"
        mov ecx, gdt_end - gdt_start
        lsl eax, ecx                            ; beyond the GDT limit
        jnz .z4
        FAILN "LSL beyond the GDT limit: ZF = 1"
.z4:    mov ecx, SEL_XO
        verr cx
        jnz .z5
        FAILN "VERR of an execute-only segment: ZF = 1"
.z5:    mov ecx, SEL_CODE0
        verr cx
        jz .z6
        FAILN "VERR of a readable code segment: ZF = 0"
.z6:    mov ecx, SEL_RO
        verw cx
        jnz .z7
        FAILN "VERW of a read-only data segment: ZF = 1"
.z7:    mov ecx, SEL_CODE0
        verw cx
        jnz .z8
        FAILN "VERW of a code segment: ZF = 1"
.z8:    mov ecx, SEL_DATA0
        verw cx
        jz .z9
        FAILN "VERW of a writable data segment: ZF = 0"
.z9:    mov ecx, SEL_DATA0 | 3                  ; RPL 3 > DPL 0: not visible
        verr cx
        jnz .z10
        FAILN "VERR with RPL 3 of a DPL-0 segment: ZF = 1"
.z10:

        ; -- 2E: at CPL 3: DPL-0 data and non-conforming code cannot be loaded into DS
        ;    (#GP(sel)); SS needs DPL = RPL = 3; a far JMP to non-conforming DPL-0 code is
        ;    #GP(sel); a far CALL to DPL-0 conforming code runs at CPL 3.
        POST 0x2E
        TO_RING3
        mov bx, SEL_DATA0
        XFAULT 13, SEL_DATA0, mov ds, bx
        mov bx, SEL_DATA0 | 3
        XFAULT 13, SEL_DATA0, mov es, bx
        mov bx, SEL_CODE0
        XFAULT 13, SEL_CODE0, mov fs, bx
        mov bx, SEL_DATA0 | 3
        XFAULT 13, SEL_DATA0, mov ss, bx
        mov bx, SEL_DATA3 & 0xFFFC                ; RPL 0 != CPL 3
        XFAULT 13, SEL_DATA3 & 0xFFFC, mov ss, bx
        mov bx, SEL_CONF0
        mov gs, bx                              ; readable conforming: no DPL check
        mov eax, [gs:gdtr_rom]
        XFAULT 13, SEL_CODE0, jmp SEL_CODE0:.r3
        call SEL_CONF0:conf_code
        CHECKW bx, SEL_CONF0 | 3, "CS inside conforming code called from CPL 3"
        mov ax, cs
        CHECKW ax, SEL_CODE3, "CS after the return"
        ; A non-conforming code selector with RPL 0 < CPL: CS.RPL becomes the CPL.
        jmp (SEL_CODE3 & 0xFFFC):.r3
.r3:    mov ax, cs
        CHECKW ax, SEL_CODE3, "CS after a far JMP with RPL 0"
        ; LAR/VERR at CPL 3: a DPL-0 data segment is not visible, DPL-0 conforming
        ; code is.
        mov ecx, SEL_DATA0
        lar eax, ecx
        jnz .v1
        FAILN "LAR of DPL-0 data at CPL 3: ZF = 1"
.v1:    mov ecx, SEL_CONF0
        lar eax, ecx
        jz .v2
        FAILN "LAR of DPL-0 conforming code at CPL 3: ZF = 0"
.v2:    mov ecx, SEL_DATA3
        verw cx
        jz .v3
        FAILN "VERW of DPL-3 data at CPL 3: ZF = 0"
.v3:
        ; An expand-down stack at CPL 3: the push that would write at or below the
        ; limit raises #SS(0) and leaves ESP unchanged; the handler runs on the ring-0
        ; stack from the TSS.
        %define VSEG ds
        mov edx, esp
        mov ax, SEL_ED3
        mov ss, ax
        mov esp, 0x1004
        push dword 0x0D0D0D0D
        CHECK [SEG_BASE + 0x1000], 0x0D0D0D0D, "push onto the expand-down stack"
        XFAULT 12, 0, push dword 0
        CHECK esp, 0x1000, "ESP after the faulting push"
        mov ax, SEL_DATA3
        mov ss, ax
        mov esp, edx
        %define VSEG ss
        TO_RING0

        DONE

; Conforming code: returns CS in BX.
conf_code:
        mov bx, cs
        retf

ldt_template:
        DESC 0x300000, 0xFFFF, ACC_P | ACC_DATA | ACC_W, FL_D               ; 0x04
        DESC 0, 0xFFFFF, ACC_P | 0x60 | ACC_DATA | ACC_W, FL_G | FL_D        ; 0x0C
        DESC 0, 0xFFFFF, 0x60 | ACC_DATA | ACC_W, FL_G | FL_D                ; 0x14 (P=0)
ldt_template_end:

gdt_start:
        GDT_COMMON
        DESC 0, 0xFFFFF, ACC_DATA | ACC_W, FL_G | FL_D                       ; 0x40 SEL_NP
        DESC 0, 0xFFFFF, ACC_P | ACC_CODE, FL_G | FL_D                       ; 0x48 SEL_XO
        DESC 0, 0xFFFFF, ACC_P | ACC_DATA, FL_G | FL_D                       ; 0x50 SEL_RO
        DESC LDT_ADDR, 0x17, ACC_P | 0x02, 0                                 ; 0x58 SEL_LDT
        DESC SEG_BASE, 0xFFF, ACC_P | ACC_DATA | ACC_W | ACC_E, FL_D         ; 0x60 SEL_ED
        DESC SEG_BASE, 0xFFF, ACC_P | ACC_DATA | ACC_W | ACC_E, 0            ; 0x68 SEL_ED16
        DESC SEG_BASE, 1, ACC_P | ACC_DATA | ACC_W, FL_G | FL_D              ; 0x70 SEL_G
        DESC 0, 0xFFFFF, ACC_P | ACC_DATA | ACC_W, FL_G | FL_D               ; 0x78 SEL_NOACC
        DESC 0, 0xFFFFF, ACC_P | ACC_CODE | ACC_C | ACC_R, FL_G | FL_D       ; 0x80 SEL_CONF0
        DESC 0, 0xFFFFF, ACC_P | 0x60 | ACC_CODE | ACC_C | ACC_R, FL_G | FL_D ; 0x88 SEL_CONF3
        DESC SEG_BASE, 0xFFF, ACC_P | ACC_DATA | ACC_W, FL_D                 ; 0x90 SEL_BYTE
        DESC 0, 0xFFFFF, ACC_P | ACC_DATA | ACC_W, FL_D                      ; 0x98 SEL_SMALL
        DESC 0, 0xFFFFF, ACC_P | ACC_CODE | ACC_R, FL_D                      ; 0xA0 SEL_CODE_LIM
        DESC 0, 0xFFFFF, ACC_P | 0x20 | ACC_DATA | ACC_W, FL_G | FL_D        ; 0xA8 SEL_DATA1
        DESC SEG_BASE, 0xFFF, ACC_P | 0x60 | ACC_DATA | ACC_W | ACC_E, FL_D  ; 0xB0 SEL_ED3
gdt_end:

        ROM_END
