; exceptions.asm — faults raised while the CPU delivers an exception (Intel SDM Vol. 3A
; §6.13 "Error code", §6.15 "Interrupt 8—Double fault exception", Tables 6-4 and 6-5).
;
; Table 6-4: benign — #DB, NMI, #BP, #OF, #BR, #UD, #NM, #MF, #AC, #MC, #XM, INT n;
; contributory — #DE, #TS, #NP, #SS, #GP; page faults — #PF. Table 6-5: the second
; exception becomes a #DF (error code 0) if both are contributory, or the first is a #PF
; and the second a #PF or contributory; otherwise the two are handled serially (the
; second is delivered). §6.13: bit 0 of an error code, EXT, is set when the exception
; was raised while delivering another event (an earlier exception or an interrupt).
;
; POST codes:
;   80  #NP while delivering #GP (contributory + contributory): #DF(0)
;   81  #PF while delivering #PF (reading its IDT gate from a not-present page): #DF(0)
;   82  #NP while delivering #PF (page fault + contributory): #DF(0)
;   83  faults while delivering #UD (benign): delivered serially with EXT = 1 —
;       #NP(sel | 1) for a not-present handler segment, #NP(6 * 8 + 2 + 1) for a
;       not-present gate, #GP(sel | 1) for a selector beyond the GDT
;   84  #PF while delivering #GP (contributory + page fault): the #PF is delivered
;   85  #PF while delivering #UD (benign + page fault): the #PF is delivered

%include "common.inc"

SEL_CODE_NP     equ 0x40                ; 32-bit code, DPL 0, not present

PD              equ 0x10000
PT0             equ 0x11000             ; identity 0-4 MB
PT1             equ 0x12000             ; linear 4-8 MB
LIN_NP          equ 0x400000            ; not present
LIN_IDT_LO      equ 0x41F000            ; PT1 entry 1F → PHYS_IDT_LO
LIN_IDT_HI      equ 0x420000            ; PT1 entry 20 → PHYS_IDT_HI
PHYS_IDT_LO     equ 0x507000
PHYS_IDT_HI     equ 0x508000
IDT_SPLIT       equ LIN_IDT_HI - 14 * 8 ; an IDT copy: gates 0-13 on the low page,
                                        ; 14-255 on the high one
PG_PW           equ 0x003               ; present, writable

; IDT_PAGES lo, hi: present (1) or not (0) for the two pages of the split IDT.
%macro IDT_PAGES 2
        mov dword [PT1 + 0x1F * 4], PHYS_IDT_LO | PG_PW * (%1)
        mov dword [PT1 + 0x20 * 4], PHYS_IDT_HI | PG_PW * (%2)
        invlpg [LIN_IDT_LO]
        invlpg [LIN_IDT_HI]
%endmacro

        bits 32
rom_main:
        ; Identity paging for 0-4 MB, and the split IDT at 4 MB + 124 KB.
        mov edi, PD
        mov ecx, 0x3000 / 4
        xor eax, eax
        rep stosd
        mov edi, PT0
        mov eax, PG_PW
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        loop .id
        mov dword [PD], PT0 | PG_PW
        mov dword [PD + 4], PT1 | PG_PW
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp .pg
.pg:    IDT_PAGES 1, 1
        mov esi, IDT_ADDR
        mov edi, IDT_SPLIT
        mov ecx, 256 * 8 / 4
        rep movsd
        mov dword [scratch], (IDT_SPLIT & 0xFFFF) << 16 | (256 * 8 - 1)
        mov dword [scratch + 4], IDT_SPLIT >> 16

        ; -- 80: Table 6-5: contributory (#GP) then contributory (#NP, the handler's
        ;    code segment is not present) → #DF with error code 0. (The saved CS:EIP
        ;    of a #DF is undefined: only the vector and error code are checked.)
        POST 0x80
        SET_GATE 13, SEL_CODE_NP, 0, 0x8E
        TRY .df80
        mov bx, 0x1000                          ; beyond the GDT limit: #GP(1000h)
        mov ds, bx
        FAILN "no exception from MOV DS, 1000h"
.df80:  SET_GATE 13, SEL_CODE0, isr_stubs + 13 * 16, 0x8E
        CHECK [exc_vec], 8, "#NP while delivering #GP: vector"
        CHECK [exc_err], 0, "#NP while delivering #GP: error code"

        ; -- 81: Table 6-5: page fault then page fault → #DF. The #PF's gate (14) is on
        ;    a not-present page; gate 8 is readable.
        POST 0x81
        lidt [scratch]
        IDT_PAGES 1, 0
        TRY .df81
        mov eax, [LIN_NP]
        FAILN "no exception reading a not-present page"
.df81:  lidt [idtr_rom]
        IDT_PAGES 1, 1
        CHECK [exc_vec], 8, "#PF while delivering #PF: vector"
        CHECK [exc_err], 0, "#PF while delivering #PF: error code"

        ; -- 82: Table 6-5: page fault then contributory (#NP) → #DF.
        POST 0x82
        SET_GATE 14, SEL_CODE_NP, 0, 0x8E
        TRY .df82
        mov eax, [LIN_NP]
        FAILN "no exception reading a not-present page"
.df82:  SET_GATE 14, SEL_CODE0, isr_stubs + 14 * 16, 0x8E
        CHECK [exc_vec], 8, "#NP while delivering #PF: vector"
        CHECK [exc_err], 0, "#NP while delivering #PF: error code"

        ; -- 83: #UD is benign: a fault while delivering it is delivered serially, with
        ;    EXT = 1. INT n pseudocode: "IF gate not present THEN #NP(vector * 8 + 2 +
        ;    EXT)"; "IF new code segment selector index is outside descriptor table
        ;    limits THEN #GP(selector + EXT)"; "IF code segment not present THEN
        ;    #NP(selector + EXT)".
        POST 0x83
        SET_GATE 6, SEL_CODE_NP, 0, 0x8E
        XFAULT 11, SEL_CODE_NP | 1, ud2
        SET_GATE 6, SEL_CODE0, isr_stubs + 6 * 16, 0x0E        ; not present
        XFAULT 11, 6 * 8 + 2 + 1, ud2
        SET_GATE 6, 0x1000, 0, 0x8E
        XFAULT 13, 0x1000 | 1, ud2
        SET_GATE 6, SEL_CODE0, isr_stubs + 6 * 16, 0x8E

        ; -- 84: contributory then page fault: handled serially — the #PF (reading
        ;    gate 13 from a not-present page) is delivered, CR2 = the gate's address.
        POST 0x84
        lidt [scratch]
        IDT_PAGES 0, 1
        mov bx, 0x1000
        XFAULT 14, 0, mov ds, bx
        CHECK [exc_cr2], IDT_SPLIT + 13 * 8, "CR2 (gate 13)"

        ; -- 85: benign then page fault: handled serially.
        POST 0x85
        XFAULT 14, 0, ud2
        CHECK [exc_cr2], IDT_SPLIT + 6 * 8, "CR2 (gate 6)"
        lidt [idtr_rom]

        DONE

gdt_start:
        GDT_COMMON
        DESC 0, 0xFFFFF, ACC_CODE | ACC_R, FL_G | FL_D                       ; 0x40
gdt_end:

        ROM_END
