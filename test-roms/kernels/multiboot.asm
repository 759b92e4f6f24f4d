; multiboot.asm — the project's Multiboot v1 test kernel (`x86 run --kernel`).
;
; Assembled with `nasm -f bin` in two forms from this one source:
;   default   the "a.out kludge": header flag 16 and the address fields say where the
;             flat file goes (Multiboot Specification 0.6.96, §3.1.3);
;   -DELF     a hand-made ELF32 executable (ELF header and one PT_LOAD program header
;             at the start of the file, System V ABI), header flag 16 clear (§3.1.4).
; Both load at 1 MB. The kernel reports on the debug console (port 0xE9) what the boot
; loader handed it (§3.2 machine state, §3.3 boot information), one item per line:
;   magic 2BADB002          EAX at entry
;   state PE=1 PG=0 IF=0 VM=0
;   flags XXXXXXXX          multiboot_info.flags (hex)
;   mem_lower N / mem_upper N   in KB (decimal), when flags bit 0
;   mmap BASE LENGTH TYPE   one line per memory-map entry (hex), when flags bit 6
;   cmdline TEXT            when flags bit 2
;   mods N                  when flags bit 3, then per module:
;   mod START SIZE NAME: FIRSTLINE   (START hex, SIZE decimal, the module's first line)
;   loader NAME             when flags bit 9
;   end
; then halts with interrupts off, which ends the run.

        bits 32
        org 0x100000

MB_MAGIC        equ 0x1BADB002
%ifdef ELF
MB_FLAGS        equ 0x00000003              ; page-aligned modules, memory info
%else
MB_FLAGS        equ 0x00010003              ; ... and the a.out address fields
%endif

file_start:
%ifdef ELF
; ---- ELF header (52 bytes) ----
        db 0x7F, "ELF", 1, 1, 1, 0          ; 32-bit, little-endian, version 1, SysV
        times 8 db 0
        dw 2                                ; e_type ET_EXEC
        dw 3                                ; e_machine EM_386
        dd 1                                ; e_version
        dd start                            ; e_entry
        dd phdr - file_start                ; e_phoff
        dd 0                                ; e_shoff
        dd 0                                ; e_flags
        dw 52                               ; e_ehsize
        dw 32                               ; e_phentsize
        dw 1                                ; e_phnum
        dw 0, 0, 0                          ; e_shentsize, e_shnum, e_shstrndx
phdr:   dd 1                                ; PT_LOAD
        dd 0                                ; p_offset: the whole file
        dd file_start                       ; p_vaddr
        dd file_start                       ; p_paddr
        dd file_end - file_start            ; p_filesz
        dd bss_end - file_start             ; p_memsz
        dd 7                                ; p_flags RWX
        dd 4096                             ; p_align
%endif

        align 4
mb_header:
        dd MB_MAGIC
        dd MB_FLAGS
        dd -(MB_MAGIC + MB_FLAGS)
%ifndef ELF
        dd mb_header                        ; header_addr
        dd file_start                       ; load_addr
        dd file_end                         ; load_end_addr
        dd bss_end                          ; bss_end_addr
        dd start                            ; entry_addr
%endif

start:
        ; The BSS must read as zero (the loader clears it): checked before anything
        ; is stored there.
        mov edi, bss_start
        mov ecx, bss_end - bss_start
.bss:   cmp byte [edi], 0
        jne bss_dirty
        inc edi
        loop .bss
        mov esp, stack_top
        mov [saved_eax], eax
        mov [saved_ebx], ebx

        mov esi, s_magic
        call puts
        mov eax, [saved_eax]
        call hex32
        call nl

        ; Machine state: CR0.PE, CR0.PG, EFLAGS.IF, EFLAGS.VM.
        mov esi, s_state
        call puts
        mov eax, cr0
        and eax, 1
        call dec
        mov esi, s_pg
        call puts
        mov eax, cr0
        shr eax, 31
        call dec
        mov esi, s_if
        call puts
        pushfd
        pop eax
        shr eax, 9
        and eax, 1
        call dec
        mov esi, s_vm
        call puts
        pushfd
        pop eax
        shr eax, 17
        and eax, 1
        call dec
        call nl

        mov ebx, [saved_ebx]
        mov esi, s_flags
        call puts
        mov eax, [ebx]
        call hex32
        call nl

        test dword [ebx], 1 << 0
        jz .no_mem
        mov esi, s_lower
        call puts
        mov eax, [ebx + 4]
        call dec
        call nl
        mov esi, s_upper
        call puts
        mov eax, [ebx + 8]
        call dec
        call nl
.no_mem:

        test dword [ebx], 1 << 6
        jz .no_mmap
        mov edi, [ebx + 48]                 ; mmap_addr
        mov ebp, edi
        add ebp, [ebx + 44]                 ; + mmap_length
.mmap:  cmp edi, ebp
        jae .no_mmap
        mov esi, s_mmap
        call puts
        mov eax, [edi + 8]                  ; base, high then low
        call hex32
        mov eax, [edi + 4]
        call hex32
        call space
        mov eax, [edi + 16]                 ; length
        call hex32
        mov eax, [edi + 12]
        call hex32
        call space
        mov eax, [edi + 20]                 ; type
        call hex32
        call nl
        add edi, [edi]                      ; size (not counting itself)
        add edi, 4
        jmp .mmap
.no_mmap:

        test dword [ebx], 1 << 2
        jz .no_cmdline
        mov esi, s_cmdline
        call puts
        mov esi, [ebx + 16]
        call puts
        call nl
.no_cmdline:

        test dword [ebx], 1 << 3
        jz .no_mods
        mov esi, s_mods
        call puts
        mov eax, [ebx + 20]
        call dec
        call nl
        mov ecx, [ebx + 20]
        mov edi, [ebx + 24]
.mod:   test ecx, ecx
        jz .no_mods
        push ecx
        mov esi, s_mod
        call puts
        mov eax, [edi]                      ; mod_start
        call hex32
        call space
        mov eax, [edi + 4]                  ; mod_end - mod_start
        sub eax, [edi]
        call dec
        call space
        mov esi, [edi + 8]                  ; its string
        call puts
        mov al, ':'
        call putc
        call space
        mov esi, [edi]                      ; its first line, at most 60 bytes
        mov edx, [edi + 4]
        mov ecx, 60
.line:  cmp esi, edx
        jae .line_done
        mov al, [esi]
        cmp al, 10
        je .line_done
        call putc
        inc esi
        loop .line
.line_done:
        call nl
        add edi, 16
        pop ecx
        dec ecx
        jmp .mod
.no_mods:

        test dword [ebx], 1 << 9
        jz .no_loader
        mov esi, s_loader
        call puts
        mov esi, [ebx + 64]
        call puts
        call nl
.no_loader:
        mov esi, s_end
        call puts
        call nl
halt:   cli
        hlt
        jmp halt

bss_dirty:
        mov esi, s_bss
        call puts
        call nl
        jmp halt

; ---- output helpers (port 0xE9); each keeps every register but EAX ----
putc:   out 0xE9, al
        ret
nl:     mov al, 10
        jmp putc
space:  mov al, ' '
        jmp putc
puts:   push esi
.l:     lodsb
        test al, al
        jz .d
        call putc
        jmp .l
.d:     pop esi
        ret
hex32:  push ecx
        push edx
        mov edx, eax
        mov ecx, 8
.h:     rol edx, 4
        mov al, dl
        and al, 15
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'A' - '9' - 1
.p:     call putc
        loop .h
        pop edx
        pop ecx
        ret
dec:    push ebx
        push ecx
        push edx
        mov ebx, 10
        xor ecx, ecx
.dv:    xor edx, edx
        div ebx
        push edx
        inc ecx
        test eax, eax
        jnz .dv
.dp:    pop eax
        add al, '0'
        call putc
        loop .dp
        pop edx
        pop ecx
        pop ebx
        ret

s_magic:   db "magic ", 0
s_state:   db "state PE=", 0
s_pg:      db " PG=", 0
s_if:      db " IF=", 0
s_vm:      db " VM=", 0
s_flags:   db "flags ", 0
s_lower:   db "mem_lower ", 0
s_upper:   db "mem_upper ", 0
s_mmap:    db "mmap ", 0
s_cmdline: db "cmdline ", 0
s_mods:    db "mods ", 0
s_mod:     db "mod ", 0
s_loader:  db "loader ", 0
s_end:     db "end", 0
s_bss:     db "BSS not cleared", 0

        align 4
file_end:

; ---- BSS: not in the file; the loader zeroes it ----
        absolute file_end
bss_start:
saved_eax: resd 1
saved_ebx: resd 1
        resb 8192
stack_top:
bss_end:
