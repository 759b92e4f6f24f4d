; paging.asm — 32-bit paging, PSE and PAE (Intel SDM Vol. 3A chapter 4 "Paging").
;
; #PF error code (§4.7): bit 0 P (0: not-present page, 1: protection violation),
; bit 1 W/R (write), bit 2 U/S (CPL 3 access), bit 3 RSVD (reserved bit set in a
; paging-structure entry). CR2 holds the faulting linear address. The saved EIP points
; at the faulting instruction.
;
; POST codes:
;   60  paging on (32-bit, 4 KB pages, identity map of the first 4 MB)
;   61  not-present pages: #PF, error code 0 (read) / 2 (write), CR2
;   62  read-only page, supervisor writes: allowed with CR0.WP = 0, #PF(3) with WP = 1
;   63  CPL 3: read-only (#PF 7 on write), supervisor-only (#PF 5/7), not present (4/6)
;   64  the U/S and R/W bits of the PDE and the PTE combine (both must allow)
;   65  accessed and dirty bits set by the CPU (PTE A/D, PDE A)
;   66  4 MB pages with CR4.PSE; PS is ignored with PSE = 0; D set in the 4 MB PDE
;   67  INVLPG and a CR3 reload make a changed PTE (address, R/W, U/S) visible; global
;       pages: INVLPG and a CR4.PGE toggle
;   68  #PF on instruction fetch: CR2 = EIP = the target
;   69  PAE: 3-level walk, 2 MB pages, 4 KB pages, not-present PDPTE/PTE
;   6A  PAE: accessed/dirty bits in a 2 MB PDE, read-only 2 MB page at CPL 3
;   6B  PAE: a reserved bit in a PTE gives #PF with RSVD (error code 9)
;   6C  PAE: MOV to CR3 with a reserved bit in a present PDPTE is #GP(0)

%include "common.inc"

PD              equ 0x10000             ; 32-bit page directory
PT0             equ 0x11000             ; identity map 0-4 MB (user, writable)
PT1             equ 0x12000             ; linear 4 MB-8 MB: the test pages
PT3             equ 0x17000             ; under a supervisor-only PDE (linear 12 MB)
PT4             equ 0x18000             ; under a read-only PDE (linear 16 MB)
PDPT            equ 0x13000             ; PAE
PAE_PD          equ 0x14000
PAE_PT0         equ 0x15000             ; identity 0-2 MB
PAE_PT2         equ 0x16000             ; linear 4 MB-6 MB

PHYS_A          equ 0x500000
PHYS_B          equ 0x501000
PHYS_C          equ 0x502000
PHYS_6M         equ 0x600000
PHYS_12M        equ 0xC00000

MARK_A          equ 0xAAAA0001
MARK_B          equ 0xBBBB0002
MARK_C          equ 0xCCCC0003
MARK_6M         equ 0x66666666
MARK_16M        equ 0x16161616          ; at physical 16 MB - 4

PG_P            equ 0x001
PG_W            equ 0x002
PG_U            equ 0x004
PG_A            equ 0x020
PG_D            equ 0x040
PG_PS           equ 0x080
PG_G            equ 0x100

CR0_PG          equ 0x80000000
CR0_WP          equ 0x00010000
CR4_PSE         equ 0x10
CR4_PAE         equ 0x20
CR4_PGE         equ 0x80

; linear test addresses
LIN_NP          equ 0x400000            ; not present
LIN_RO          equ 0x401000            ; PHYS_A, user, read-only
LIN_SUP         equ 0x402000            ; PHYS_B, supervisor, writable
LIN_AD          equ 0x403000            ; PHYS_C, user, writable, A = D = 0
LIN_INV         equ 0x404000            ; PHYS_A, supervisor, writable (INVLPG)
LIN_URW         equ 0x405000            ; PHYS_A, user, writable
LIN_4M          equ 0x800000            ; PDE 2: a 4 MB page (PSE) or a page table
LIN_PDE_S       equ 0xC00000            ; PDE 3 supervisor-only, PTE user
LIN_PDE_RO      equ 0x1000000           ; PDE 4 read-only, PTE writable
LIN_4M_RO       equ 0x1400000           ; PDE 5: user read-only 4 MB page

        bits 32
rom_main:
        ; Physical test pages (paging is still off).
        mov dword [PHYS_A], MARK_A
        mov dword [PHYS_B], MARK_B
        mov dword [PHYS_C], MARK_C
        mov dword [PHYS_6M], MARK_6M
        mov dword [PHYS_12M + 0x3FFFFC], MARK_16M
        ; With PSE = 0, PDE 2's frame (12 MB) is a page table whose entry 0 maps 6 MB.
        mov dword [PHYS_12M], PHYS_6M | PG_P | PG_W

        ; Page directory and tables.
        mov edi, PD
        mov ecx, 0x9000 / 4                     ; PD, PT0, PT1 … PT4 area
        xor eax, eax
        rep stosd
        mov edi, PT0
        mov eax, PG_P | PG_W | PG_U
        mov ecx, 1024
.id:    stosd
        add eax, 0x1000
        loop .id
        mov dword [PD + 0 * 4], PT0 | PG_P | PG_W | PG_U
        mov dword [PD + 1 * 4], PT1 | PG_P | PG_W | PG_U
        mov dword [PD + 2 * 4], PHYS_12M | PG_PS | PG_P | PG_W
        mov dword [PD + 3 * 4], PT3 | PG_P | PG_W               ; supervisor only
        mov dword [PD + 4 * 4], PT4 | PG_P | PG_U               ; read-only
        mov dword [PD + 5 * 4], 0x400000 | PG_PS | PG_P | PG_U  ; RO user 4 MB page
        mov dword [PT1 + 0 * 4], 0
        mov dword [PT1 + 1 * 4], PHYS_A | PG_P | PG_U
        mov dword [PT1 + 2 * 4], PHYS_B | PG_P | PG_W
        mov dword [PT1 + 3 * 4], PHYS_C | PG_P | PG_W | PG_U
        mov dword [PT1 + 4 * 4], PHYS_A | PG_P | PG_W
        mov dword [PT1 + 5 * 4], PHYS_A | PG_P | PG_W | PG_U
        mov dword [PT3], PHYS_A | PG_P | PG_W | PG_U
        mov dword [PT4], PHYS_A | PG_P | PG_W | PG_U

        ; -- 60: §4.3: CR0.PG = 1 with CR4.PAE = 0 selects 32-bit paging from CR3.
        POST 0x60
        mov eax, PD
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        and eax, ~CR0_WP
        mov cr0, eax
        jmp .pg                                 ; (§9.9.1: a jump after setting PG)
.pg:    CHECK [idtr_rom + 2], IDT_ADDR, "read from the identity-mapped ROM"
        CHECK [LIN_RO], MARK_A, "read through PTE 1 (physical A)"
        CHECK [LIN_SUP], MARK_B, "read through PTE 2 (physical B)"
        CHECK [LIN_AD], MARK_C, "read through PTE 3 (physical C)"

        ; -- 61: §4.7: a not-present page: P = 0; W/R says whether it was a write.
        POST 0x61
        XFAULT 14, 0, mov eax, [LIN_NP + 0x10]
        CHECK [exc_cr2], LIN_NP + 0x10, "CR2 (read)"
        XFAULT 14, 2, mov dword [LIN_NP + 0xFFC], 0
        CHECK [exc_cr2], LIN_NP + 0xFFC, "CR2 (write)"

        ; -- 62: §4.6.1: supervisor writes to a read-only page are allowed if CR0.WP = 0
        ;    and fault if CR0.WP = 1 (error code P | W = 3).
        POST 0x62
        mov dword [LIN_RO + 8], 0x12345678
        CHECK [LIN_URW + 8], 0x12345678, "supervisor write to RO page with WP=0"
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        XFAULT 14, 3, mov dword [LIN_RO + 8], 0
        CHECK [exc_cr2], LIN_RO + 8, "CR2 (WP=1)"
        CHECK [LIN_URW + 8], 0x12345678, "the faulting write did not happen"
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax

        ; -- 63: §4.6.1: user-mode (CPL 3) accesses need U/S = 1; user writes need
        ;    R/W = 1 whatever CR0.WP says.
        POST 0x63
        TO_RING3
        CHECK [LIN_RO], MARK_A, "user read of a read-only user page"
        XFAULT 14, 7, mov dword [LIN_RO + 4], 0
        CHECK [exc_cr2], LIN_RO + 4, "CR2 (user write, RO page)"
        XFAULT 14, 5, mov eax, [LIN_SUP + 0x20]
        CHECK [exc_cr2], LIN_SUP + 0x20, "CR2 (user read, supervisor page)"
        XFAULT 14, 7, mov byte [LIN_SUP + 0x21], 0
        CHECK [exc_cr2], LIN_SUP + 0x21, "CR2 (user write, supervisor page)"
        XFAULT 14, 4, mov eax, [LIN_NP]
        CHECK [exc_cr2], LIN_NP, "CR2 (user read, not present)"
        XFAULT 14, 6, mov dword [LIN_NP + 4], 0
        mov dword [LIN_URW + 0x40], 0x77777777
        CHECK [LIN_RO + 0x40], 0x77777777, "user write through a user RW page"
        ; User-mode PUSH onto a read-only page: a write, error code 7.
        mov edx, esp
        mov esp, LIN_RO + 0x100
        XFAULT 14, 7, push dword 1
        mov esp, edx
        TO_RING0

        ; -- 64: §4.6.1: "the access rights ... are determined by all the paging-structure
        ;    entries": the PDE's U/S and R/W restrict the PTE's.
        POST 0x64
        CHECK [LIN_PDE_S], MARK_A, "supervisor read under a supervisor PDE"
        CHECK [LIN_PDE_RO], MARK_A, "supervisor read under a read-only PDE"
        mov dword [LIN_PDE_RO + 0x30], 0x31313131       ; WP = 0: allowed
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        XFAULT 14, 3, mov dword [LIN_PDE_RO + 0x30], 0
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax
        TO_RING3
        XFAULT 14, 5, mov eax, [LIN_PDE_S]
        CHECK [exc_cr2], LIN_PDE_S, "CR2 (PDE supervisor)"
        CHECK [LIN_PDE_RO + 0x30], 0x31313131, "user read under a read-only PDE"
        XFAULT 14, 7, mov dword [LIN_PDE_RO + 0x30], 0
        CHECK [exc_cr2], LIN_PDE_RO + 0x30, "CR2 (PDE read-only)"
        TO_RING0

        ; -- 65: §4.8: the processor sets the accessed flag in every paging-structure
        ;    entry used for an access and the dirty flag in the PTE on a write. Bit 6
        ;    of a PDE that references a page table is ignored (not set).
        POST 0x65
        and dword [PT1 + 3 * 4], ~(PG_A | PG_D)
        and dword [PD + 1 * 4], ~(PG_A | PG_D)
        invlpg [LIN_AD]
        mov eax, [LIN_AD]
        mov eax, [PT1 + 3 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A, "PTE A/D after a read"
        mov eax, [PD + 1 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A, "PDE A/D after a read"
        mov dword [LIN_AD + 4], 0
        mov eax, [PT1 + 3 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A | PG_D, "PTE A/D after a write"
        mov eax, [PD + 1 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A, "PDE A/D after a write (bit 6 ignored)"
        ; A write first (no read before it) sets both.
        and dword [PT1 + 3 * 4], ~(PG_A | PG_D)
        invlpg [LIN_AD]
        mov byte [LIN_AD + 8], 0
        mov eax, [PT1 + 3 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A | PG_D, "PTE A/D after a first write"
        ; Accesses from CPL 3 set them too.
        and dword [PT1 + 5 * 4], ~(PG_A | PG_D)
        invlpg [LIN_URW]
        TO_RING3
        mov eax, [LIN_URW]
        TO_RING0
        mov eax, [PT1 + 5 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A, "PTE A/D after a user read"

        ; -- 66: §4.3: with CR4.PSE = 1 a PDE with PS = 1 maps a 4 MB page (frame =
        ;    PDE[31:22]); with CR4.PSE = 0 the PS bit is ignored and the PDE references
        ;    a page table. §4.8: a write sets D in the 4 MB page's PDE.
        POST 0x66
        CHECK [LIN_4M], MARK_6M, "PSE=0: PDE 2 used as a page-table pointer"
        invlpg [LIN_4M]
        mov eax, cr4
        or eax, CR4_PSE
        mov cr4, eax
        mov eax, cr3                            ; CR4.PSE change: flush everything
        mov cr3, eax
        CHECK [LIN_4M], PHYS_6M | PG_P | PG_W | PG_A, "PSE=1: first dword of the 4 MB page (12 MB)"
        CHECK [LIN_4M + 0x3FFFFC], MARK_16M, "PSE=1: last dword of the 4 MB page"
        and dword [PD + 2 * 4], ~(PG_A | PG_D)
        invlpg [LIN_4M]
        mov eax, [LIN_4M + 0x100]
        mov eax, [PD + 2 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A, "4 MB PDE A/D after a read"
        mov dword [LIN_4M + 0x100], 0
        mov eax, [PD + 2 * 4]
        and eax, PG_A | PG_D
        CHECK eax, PG_A | PG_D, "4 MB PDE A/D after a write"
        ; A user read-only 4 MB page (identity 4-8 MB, here at linear 20 MB).
        TO_RING3
        CHECK [LIN_4M_RO + (PHYS_A - 0x400000)], MARK_A, "user read of a RO 4 MB page"
        XFAULT 14, 7, mov dword [LIN_4M_RO + 0x1234], 0
        CHECK [exc_cr2], LIN_4M_RO + 0x1234, "CR2 (user write, 4 MB page)"
        TO_RING0

        ; -- 67: §4.10.4.1: INVLPG invalidates the TLB entries for the page; MOV to CR3
        ;    invalidates all non-global ones. After changing a PTE and doing either,
        ;    the new translation must be used.
        POST 0x67
        CHECK [LIN_INV], MARK_A, "LIN_INV before the change"
        mov dword [PT1 + 4 * 4], PHYS_B | PG_P | PG_W
        invlpg [LIN_INV]
        CHECK [LIN_INV], MARK_B, "LIN_INV after PTE change + INVLPG"
        mov dword [PT1 + 4 * 4], PHYS_C | PG_P | PG_W
        mov eax, cr3
        mov cr3, eax
        CHECK [LIN_INV], MARK_C, "LIN_INV after PTE change + CR3 reload"
        ; Present → not present, then INVLPG: the access faults.
        mov dword [PT1 + 4 * 4], 0
        invlpg [LIN_INV]
        XFAULT 14, 0, mov eax, [LIN_INV]
        ; Writable → read-only, then INVLPG: with WP = 1 a supervisor write faults.
        mov dword [PT1 + 4 * 4], PHYS_A | PG_P | PG_W
        invlpg [LIN_INV]
        mov dword [LIN_INV + 0x50], 0x67676767
        mov dword [PT1 + 4 * 4], PHYS_A | PG_P
        invlpg [LIN_INV]
        mov eax, cr0
        or eax, CR0_WP
        mov cr0, eax
        XFAULT 14, 3, mov dword [LIN_INV + 0x50], 0
        mov eax, cr0
        and eax, ~CR0_WP
        mov cr0, eax
        ; Supervisor → user, then INVLPG: a CPL-3 read works.
        mov dword [PT1 + 4 * 4], PHYS_A | PG_P | PG_U
        invlpg [LIN_INV]
        TO_RING3
        CHECK [LIN_INV + 0x50], 0x67676767, "user read after U/S was set + INVLPG"
        TO_RING0
        ; §4.10.2.4 / §4.10.4.1: global pages (CR4.PGE, PTE.G) survive CR3 loads, but
        ;    INVLPG invalidates them and a change of CR4.PGE flushes all translations.
        mov eax, cr4
        or eax, CR4_PGE
        mov cr4, eax
        mov dword [PT1 + 4 * 4], PHYS_A | PG_P | PG_W | PG_G
        invlpg [LIN_INV]
        CHECK [LIN_INV], MARK_A, "global page (physical A)"
        mov dword [PT1 + 4 * 4], PHYS_B | PG_P | PG_W | PG_G
        invlpg [LIN_INV]
        CHECK [LIN_INV], MARK_B, "global page after PTE change + INVLPG"
        mov dword [PT1 + 4 * 4], PHYS_C | PG_P | PG_W | PG_G
        mov eax, cr4
        and eax, ~CR4_PGE
        mov cr4, eax
        or eax, CR4_PGE
        mov cr4, eax
        CHECK [LIN_INV], MARK_C, "global page after PTE change + CR4.PGE toggle"
        mov eax, cr4
        and eax, ~CR4_PGE
        mov cr4, eax

        ; -- 68: a fetch from a not-present page faults with CR2 = the fetch address and
        ;    the saved EIP at the target (the jump itself completed). At CPL 3 a fetch
        ;    from a supervisor page is a user read: error code 5.
        POST 0x68
        TRY .f1
        mov eax, LIN_NP + 0x20
        jmp eax
.f1:    CHECK [exc_vec], 14, "vector (fetch)"
        CHECK [exc_err], 0, "error code (fetch)"
        CHECK [exc_cr2], LIN_NP + 0x20, "CR2 (fetch)"
        CHECK [exc_eip], LIN_NP + 0x20, "saved EIP (fetch)"
        ; Code that runs into a not-present page: CR2 is the first byte there.
        mov byte [LIN_URW + 0xFFF], 0x90        ; NOP at the end of PHYS_A
        mov dword [PT1 + 6 * 4], 0              ; LIN 0x406000: not present
        mov dword [PT1 + 5 * 4], PHYS_A | PG_P | PG_W | PG_U
        invlpg [LIN_URW]
        TRY .f2
        mov eax, LIN_URW + 0xFFF
        jmp eax
.f2:    CHECK [exc_vec], 14, "vector (fetch across)"
        CHECK [exc_cr2], LIN_URW + 0x1000, "CR2 (fetch across)"
        CHECK [exc_eip], LIN_URW + 0x1000, "saved EIP (fetch across)"
        mov dword [PT1 + 2 * 4], PHYS_B | PG_P | PG_W    ; supervisor page
        invlpg [LIN_SUP]
        mov byte [LIN_SUP + 0x40], 0xC3         ; RET
        TO_RING3
        TRY .f3
        mov eax, LIN_SUP + 0x40
        call eax
.f3:    CHECK [exc_vec], 14, "vector (user fetch)"
        CHECK [exc_err], 5, "error code (user fetch, supervisor page)"
        CHECK [exc_cr2], LIN_SUP + 0x40, "CR2 (user fetch)"
        TO_RING0

        ; -- 69: §4.4: PAE paging: CR3 → 4 PDPTEs → PDs of 512 8-byte PDEs; PS = 1 in a
        ;    PDE maps a 2 MB page (no CR4.PSE needed). A not-present PDPTE or PTE is a
        ;    #PF with P = 0.
        POST 0x69
        mov eax, cr0
        and eax, ~CR0_PG
        mov cr0, eax
        jmp .nopg
.nopg:  mov dword [0x200010], 0x2002
        mov edi, PDPT
        mov ecx, 0x4000 / 4                     ; PDPT, PAE_PD, PAE_PT0, PAE_PT2
        xor eax, eax
        rep stosd
        mov dword [PDPT], PAE_PD | PG_P
        mov dword [PAE_PD + 0 * 8], PAE_PT0 | PG_P | PG_W | PG_U
        mov dword [PAE_PD + 1 * 8], 0x200000 | PG_PS | PG_P | PG_W | PG_U
        mov dword [PAE_PD + 2 * 8], PAE_PT2 | PG_P | PG_W | PG_U
        mov dword [PAE_PD + 4 * 8], PHYS_6M | PG_PS | PG_P | PG_W       ; linear 8 MB
        mov dword [PAE_PD + 5 * 8], 0x400000 | PG_PS | PG_P | PG_U      ; linear 10 MB, RO
        mov edi, PAE_PT0
        mov eax, PG_P | PG_W | PG_U
        mov ecx, 512
.pae:   mov [edi], eax
        add edi, 8
        add eax, 0x1000
        loop .pae
        mov dword [PAE_PT2 + 0 * 8], PHYS_B | PG_P | PG_W | PG_U
        mov dword [PAE_PT2 + 2 * 8], PHYS_C | PG_P | PG_W | PG_U
        mov dword [PAE_PT2 + 2 * 8 + 4], 1 << (40 - 32)                 ; reserved bit
        mov dword [PAE_PT2 + 3 * 8], PHYS_A | PG_P | PG_W | PG_U
        mov eax, cr4
        or eax, CR4_PAE
        mov cr4, eax
        mov eax, PDPT
        mov cr3, eax
        mov eax, cr0
        or eax, CR0_PG
        mov cr0, eax
        jmp .pae_on
.pae_on:
        CHECK [0x200010], 0x2002, "2 MB identity page"
        CHECK [0x400000], MARK_B, "PAE 4 KB page (PT2 entry 0)"
        CHECK [0x403000], MARK_A, "PAE 4 KB page (PT2 entry 3)"
        CHECK [0x800000], MARK_6M, "PAE 2 MB page at 8 MB"
        XFAULT 14, 0, mov eax, [0x401000]
        CHECK [exc_cr2], 0x401000, "CR2 (PAE, PTE not present)"
        XFAULT 14, 2, mov dword [0x40000000], 0
        CHECK [exc_cr2], 0x40000000, "CR2 (PAE, PDPTE not present)"
        XFAULT 14, 0, mov eax, [0x600000]
        CHECK [exc_cr2], 0x600000, "CR2 (PAE, PDE not present)"

        ; -- 6A: §4.8 in PAE mode: A and D in a 2 MB page's PDE; §4.6.1 on a read-only
        ;    user 2 MB page.
        POST 0x6A
        mov eax, [0x800000]
        mov eax, [PAE_PD + 4 * 8]
        and eax, PG_A | PG_D
        CHECK eax, PG_A, "2 MB PDE A/D after a read"
        mov dword [0x800000 + 0x40], 0
        mov eax, [PAE_PD + 4 * 8]
        and eax, PG_A | PG_D
        CHECK eax, PG_A | PG_D, "2 MB PDE A/D after a write"
        mov eax, [PDPT]
        CHECK eax, PAE_PD | PG_P, "PDPTE unchanged (no A bit in PAE PDPTEs)"
        TO_RING3
        CHECK [0xA00000 + (PHYS_A - 0x400000)], MARK_A, "user read of a RO 2 MB page"
        XFAULT 14, 7, mov dword [0xA00000], 0
        CHECK [exc_cr2], 0xA00000, "CR2 (PAE user write)"
        TO_RING0

        ; -- 6B: §4.7: RSVD (bit 3) is set when a reserved bit is set in a present
        ;    paging-structure entry; with PAE, bits 62:MAXPHYADDR (36 on a P6) of a PTE
        ;    are reserved.
        POST 0x6B
        XFAULT 14, 9, mov eax, [0x402000]
        CHECK [exc_cr2], 0x402000, "CR2 (reserved bit)"

        ; -- 6C: §4.4.1: "If any of the PDPTEs sets both the P flag (bit 0) and any
        ;    reserved bit, the MOV to CR instruction causes a general-protection
        ;    exception (#GP(0))". Bits 1 and 2 (R/W, U/S) are reserved in a PDPTE.
        POST 0x6C
        mov edi, PDPT + 0x20
        mov dword [edi], PAE_PD | PG_P | PG_W
        mov dword [edi + 4], 0
        XFAULT 13, 0, mov cr3, edi
        mov eax, cr3
        CHECK eax, PDPT, "CR3 after the faulting load"

        DONE

gdt_start:
        GDT_COMMON
gdt_end:

        ROM_END
