; smc.asm — self-modifying and cross-modifying code across paging changes.
;
; Intel SDM Vol. 3A §11.6 "Self-modifying code": "A write to a memory location in a code
; segment that is currently cached in the processor causes the associated cache line
; (or lines) to be invalidated. This check is based on the physical address of the
; instruction. In addition, the P6 family and Pentium processors check whether a write
; to a code segment may modify an instruction that has been prefetched for execution.
; If the write affects a prefetched instruction, the prefetch queue is invalidated."
; §4.10.4: after a PTE change, INVLPG or a MOV to CR3 makes the new translation (also
; for instruction fetches) take effect.
;
; POST codes:
;   70  paging on; code at linear 4 MB (physical A) runs
;   71  PTE → physical B, INVLPG: the new page's code runs
;   72  PTE → physical A, CR3 reload: the old page's code runs again
;   73  code rewritten through an alias mapping (another linear address, same page)
;   74  a write to the next instruction in the same block takes effect (P6 prefetch
;       queue invalidation)
;   75  a loop rewrites its own body through the alias while it runs
;   76  paging off: linear 4 MB is physical 4 MB, with different code
;   77  a second address space (CR3 switch) maps linear 4 MB to physical B
;   78  PTE cleared + INVLPG: a fetch from the page raises #PF
;   79  an instruction that straddles two pages: remapping the second page (INVLPG)
;       changes the instruction's tail
;   7A  REP MOVSB rewriting the next instruction; a dword store that straddles two
;       pages rewrites code at the start of the second

%include "common.inc"

PD              equ 0x10000
PT0             equ 0x11000             ; identity 0-4 MB
PT1             equ 0x12000             ; linear 4-8 MB
PD2             equ 0x13000             ; second address space
PT1B            equ 0x14000
SNIP_RAM        equ 0x20000             ; identity-mapped RAM for in-block SMC

PHYS_A          equ 0x500000
PHYS_B          equ 0x501000
PHYS_C          equ 0x502000
PHYS_D          equ 0x503000
PHYS_E          equ 0x504000
LIN_STRADDLE    equ 0x402FFE            ; B8 44 | 33 22 11 C3 across PHYS_C / PHYS_D
SNIP_RAM2       equ 0x21000
CODE_31000      equ 0x31000             ; identity-mapped code page
LIN_CODE        equ 0x400000            ; → PHYS_A (or PHYS_B)
LIN_ALIAS       equ 0x401000            ; → PHYS_A, writable

PG_PRW          equ 0x007               ; present, writable, user
CR0_PG          equ 0x80000000

; COPY dst, src_label, src_end_label
%macro COPY 3
        mov edi, %1
        mov esi, %2
        mov ecx, %3 - %2
        rep movsb
%endmacro

        bits 32
rom_main:
        ; Code pages, written while paging is off.
        COPY PHYS_A, snip_a, snip_a_end
        COPY PHYS_B, snip_b, snip_b_end
        COPY PHYS_A + 0x100, snip_loop, snip_loop_end
        COPY SNIP_RAM, snip_next, snip_next_end
        COPY SNIP_RAM2, snip_movs, snip_movs_end
        COPY CODE_31000, snip_plain, snip_plain_end
        mov word [PHYS_C + 0xFFE], 0x44B8       ; mov eax, 0x11223344 / ret, split
        mov dword [PHYS_D], 0xC3112233
        mov dword [PHYS_E], 0xC3556677          ; another tail: 0x55667744
        ; Page tables.
        mov edi, PD
        mov ecx, 0x5000 / 4
        xor eax, eax
        rep stosd
        mov edi, PT0
        mov eax, PG_PRW
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        loop .id
        mov dword [PD], PT0 | PG_PRW
        mov dword [PD + 4], PT1 | PG_PRW
        mov dword [PT1 + 0], PHYS_A | PG_PRW
        mov dword [PT1 + 4], PHYS_A | PG_PRW
        mov dword [PT1 + 8], PHYS_C | PG_PRW
        mov dword [PT1 + 12], PHYS_D | PG_PRW
        mov dword [PD2], PT0 | PG_PRW
        mov dword [PD2 + 4], PT1B | PG_PRW
        mov dword [PT1B + 0], PHYS_B | PG_PRW

        ; -- 70: run the code at linear 4 MB (twice, so any code cache holds it).
        POST 0x70
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .on
.on:    mov ebx, LIN_CODE
        call ebx
        CHECK eax, 0x11111111, "code at physical A"
        call ebx
        CHECK eax, 0x11111111, "code at physical A (second run)"

        ; -- 71: §4.10.4.1: INVLPG after the PTE change: fetches use physical B.
        POST 0x71
        mov dword [PT1], PHYS_B | PG_PRW
        invlpg [LIN_CODE]
        call ebx
        CHECK eax, 0x22222222, "code after remapping to physical B + INVLPG"
        call ebx
        CHECK eax, 0x22222222, "code at physical B (second run)"

        ; -- 72: MOV to CR3 flushes the old translation as well.
        POST 0x72
        mov dword [PT1], PHYS_A | PG_PRW
        mov eax, cr3
        mov cr3, eax
        call ebx
        CHECK eax, 0x11111111, "code after remapping to physical A + CR3 reload"

        ; -- 73: §11.6: the check is on the physical address — a write through another
        ;    linear address of the same page modifies the code.
        POST 0x73
        mov dword [LIN_ALIAS + 1], 0x33333333
        call ebx
        CHECK eax, 0x33333333, "code rewritten through the alias (dword)"
        mov byte [LIN_ALIAS + 4], 0x44
        call ebx
        CHECK eax, 0x44333333, "code rewritten through the alias (byte)"

        ; -- 74: §11.6 (P6): a write that affects an already prefetched instruction
        ;    invalidates the prefetch queue — the modified instruction runs.
        POST 0x74
        mov ecx, SNIP_RAM
        call ecx
        CHECK eax, 0x11111177, "instruction modified by the one before it"
        call ecx
        CHECK eax, 0x11111177, "second run of the modified snippet"

        ; -- 75: the loop body rewrites itself through the alias mapping while it runs:
        ;    the second iteration executes the new immediate.
        POST 0x75
        mov ecx, LIN_CODE + 0x100
        call ecx
        CHECK eax, 0x66666666, "loop rewritten through the alias while running"

        ; -- 76: with paging off, linear 4 MB is physical 4 MB — other code.
        POST 0x76
        mov eax, cr0
        and eax, ~CR0_PG
        mov cr0, eax
        jmp .off
.off:   COPY LIN_CODE, snip_c, snip_c_end
        call ebx
        CHECK eax, 0x77777777, "code at physical 4 MB with paging off"
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .on2
.on2:   call ebx
        CHECK eax, 0x44333333, "code at physical A after paging is back on"

        ; -- 77: §4.10.4.1: a MOV to CR3 switches address spaces; PD2 maps linear 4 MB
        ;    to physical B.
        POST 0x77
        mov eax, PD2
        mov cr3, eax
        call ebx
        CHECK eax, 0x22222222, "code in the second address space"
        mov eax, PD
        mov cr3, eax
        call ebx
        CHECK eax, 0x44333333, "code back in the first address space"

        ; -- 78: §4.10.4.1: after clearing the PTE and INVLPG, the fetch faults.
        POST 0x78
        mov dword [PT1], 0
        invlpg [LIN_CODE]
        mov esi, esp
        TRY .pf
        call ebx
        FAILN "no #PF fetching from the unmapped page"
.pf:    mov esp, esi
        CHECK [exc_vec], 14, "vector"
        CHECK [exc_err], 0, "error code"
        CHECK [exc_cr2], LIN_CODE, "CR2"
        CHECK [exc_eip], LIN_CODE, "saved EIP"

        ; -- 79: an instruction fetched from two pages: after the second page is
        ;    remapped (PTE + INVLPG), its new bytes are used (§4.10.4.1).
        POST 0x79
        mov ecx, LIN_STRADDLE
        call ecx
        CHECK eax, 0x11223344, "instruction across a page boundary"
        call ecx
        CHECK eax, 0x11223344, "instruction across a page boundary (second run)"
        mov dword [PT1 + 12], PHYS_E | PG_PRW
        invlpg [LIN_STRADDLE + 2]
        call ecx
        CHECK eax, 0x55667744, "straddling instruction after remapping its second page"

        ; -- 7A: §11.6 for string stores and for a store that spans two pages.
        POST 0x7A
        mov ecx, SNIP_RAM2
        call ecx
        CHECK eax, 0x7A7A7A7A, "instruction rewritten by the REP MOVSB before it"
        mov ecx, CODE_31000
        call ecx
        CHECK eax, 0x11223344, "code at 31000"
        mov dword [CODE_31000 - 2], 0x99B89090  ; 90 90 | B8 99
        call ecx
        CHECK eax, 0x11223399, "code rewritten by a store spanning two pages"

        DONE

; ---- code snippets copied to RAM ------------------------------------------------------
snip_a:
        mov eax, 0x11111111
        ret
snip_a_end:
snip_b:
        mov eax, 0x22222222
        ret
snip_b_end:
snip_c:
        mov eax, 0x77777777
        ret
snip_c_end:

; Runs at SNIP_RAM: rewrites the low byte of the next instruction's immediate.
snip_next:
        mov byte [SNIP_RAM + (.imm - snip_next)], 0x77
        db 0xB8                                 ; mov eax, imm32
.imm:   dd 0x11111100
        ret
snip_next_end:

; Runs at SNIP_RAM2: REP MOVSB copies a new instruction over the next one.
snip_movs:
        mov esi, movs_src
        mov edi, SNIP_RAM2 + (.t - snip_movs)
        mov ecx, movs_src_end - movs_src
        rep movsb
.t:     mov eax, 0x01010101
        ret
snip_movs_end:
movs_src:
        mov eax, 0x7A7A7A7A
movs_src_end:

snip_plain:
        mov eax, 0x11223344
        ret
snip_plain_end:

; Runs at LIN_CODE + 0x100: the first pass loads 0x55555555 and rewrites that
; immediate through the alias; the second pass loads 0x66666666.
snip_loop:
        mov ecx, 2
.loop:  db 0xB8                                 ; mov eax, imm32
.imm:   dd 0x55555555
        mov dword [LIN_ALIAS + 0x100 + (.imm - snip_loop)], 0x66666666
        dec ecx
        jnz .loop
        ret
snip_loop_end:

gdt_start:
        GDT_COMMON
gdt_end:

        ROM_END
