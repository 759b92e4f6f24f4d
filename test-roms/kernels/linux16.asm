; linux16.asm — the project's Linux boot protocol test "kernel" (`x86 run --kernel`).
;
; A bzImage as Documentation/arch/x86/boot.rst describes it, protocol 2.15: a legacy
; boot sector with the setup header at 01F1h, two setup sectors, and a small
; protected-mode part. It never leaves real mode: the setup code reports on the debug
; console (port 0xE9) what the loader handed it, one item per line (numbers in hex):
;   entry CS-DS=0020 SS=DS SP=XXXX          the real-mode entry state
;   loader FF flags 81 heap FE00 vid FFFF   type_of_loader, loadflags, heap_end_ptr,
;                                           vid_mode as written by the loader
;   cmdline TEXT                            the string at cmd_line_ptr
;   initrd XXXXXXXX YYYYYYYY FIRSTBYTES     ramdisk_image, ramdisk_size and its first
;                                           8 bytes (copied down with INT 15h AH=87h)
;   kernel FIRSTBYTES                       the first 8 bytes at 1 MB (same way)
;   e820 BASE LENGTH TYPE                   per INT 15h E820h entry (the BIOS's map)
;   end
; then halts with interrupts off, which ends the run.

        bits 16
        org 0

        times 0x1F1 - ($ - $$) db 0
setup_sects:    db 2
root_flags:     dw 0
syssize:        dd (pm_end - pm_start + 15) / 16
ram_size:       dw 0
vid_mode:       dw 0x1234               ; the loader overwrites it
root_dev:       dw 0
boot_flag:      dw 0xAA55
; 0200h: the entry point (CS = X/16 + 20h, IP = 0) jumps over the header.
        jmp short setup_start
header:         db "HdrS"
version:        dw 0x020F
realmode_swtch: dd 0
start_sys_seg:  dw 0
kernel_version: dw 0
type_of_loader: db 0
loadflags:      db 0x01                 ; LOADED_HIGH
setup_move_size: dw 0
code32_start:   dd 0x100000
ramdisk_image:  dd 0
ramdisk_size:   dd 0
bootsect_kludge: dd 0
heap_end_ptr:   dw 0
ext_loader_ver: db 0
ext_loader_type: db 0
cmd_line_ptr:   dd 0
initrd_addr_max: dd 0x7FFFFFFF
kernel_alignment: dd 0x1000
relocatable_kernel: db 0
min_alignment:  db 0
xloadflags:     dw 0
cmdline_size:   dd 255
hardware_subarch: dd 0
hardware_subarch_data: dq 0
payload_offset: dd 0
payload_length: dd 0
setup_data:     dq 0
pref_address:   dq 0x100000
init_size:      dd 0x1000
handover_offset: dd 0
kernel_info_offset: dd 0
header_end:

setup_start:
        ; Entry state: CS - DS, SS = DS, SP.
        mov si, s_entry
        call puts
        mov ax, cs
        mov bx, ds
        sub ax, bx
        call hex16
        mov bx, ss
        mov cx, ds
        mov si, s_ss_ok
        cmp bx, cx
        je .ss
        mov si, s_ss_bad
.ss:    call puts
        mov ax, sp
        call hex16
        call nl
        mov si, s_loader
        call puts
        mov al, [type_of_loader]
        call hex8
        mov si, s_flags
        call puts
        mov al, [loadflags]
        call hex8
        mov si, s_heap
        call puts
        mov ax, [heap_end_ptr]
        call hex16
        mov si, s_vid
        call puts
        mov ax, [vid_mode]
        call hex16
        call nl

        ; The command line: a linear address below 1 MB, reached through ES.
        mov si, s_cmdline
        call puts
        mov eax, [cmd_line_ptr]
        mov ebx, eax
        shr eax, 4
        and bx, 15
        push ds
        mov ds, ax
        mov si, bx
        call puts
        pop ds
        call nl

        mov si, s_initrd
        call puts
        mov eax, [ramdisk_image]
        call hex32
        call space
        mov eax, [ramdisk_size]
        call hex32
        call space
        mov eax, [ramdisk_image]
        call peek8
        call nl

        mov si, s_kernel
        call puts
        mov eax, 0x100000
        call peek8
        call nl

        ; The BIOS's memory map.
        xor ebx, ebx
.e820:  mov eax, 0xE820
        mov edx, 0x534D4150
        mov ecx, 20
        push ds
        pop es
        mov di, e820_buf
        int 0x15
        jc .e820_done
        mov si, s_e820
        call puts
        mov eax, [e820_buf + 4]
        call hex32
        mov eax, [e820_buf]
        call hex32
        call space
        mov eax, [e820_buf + 12]
        call hex32
        mov eax, [e820_buf + 8]
        call hex32
        call space
        mov eax, [e820_buf + 16]
        call hex32
        call nl
        test ebx, ebx
        jnz .e820
.e820_done:
        mov si, s_end
        call puts
        call nl
halt:   cli
        hlt
        jmp halt

; Prints the 8 bytes at linear address EAX (any, through INT 15h AH=87h) in hex.
peek8:  mov [gdt_src + 2], ax           ; source descriptor base 23:0 ...
        shr eax, 16
        mov [gdt_src + 4], al
        mov [gdt_src + 7], ah           ; ... and 31:24
        ; Destination: peek_buf, linear DS*16 + offset.
        xor eax, eax
        mov ax, ds
        shl eax, 4
        add eax, peek_buf
        mov [gdt_dst + 2], ax
        shr eax, 16
        mov [gdt_dst + 4], al
        mov [gdt_dst + 7], ah
        push ds
        pop es
        mov si, gdt_move
        mov cx, 4                       ; words
        mov ah, 0x87
        int 0x15
        mov si, peek_buf
        mov cx, 8
.b:     lodsb
        call hex8
        loop .b
        ret

; ---- output helpers (port 0xE9) ----
putc:   out 0xE9, al
        ret
nl:     mov al, 10
        jmp putc
space:  mov al, ' '
        jmp putc
puts:   lodsb
        test al, al
        jz .d
        call putc
        jmp puts
.d:     ret
hex32:  push eax
        shr eax, 16
        call hex16
        pop eax
hex16:  push ax
        mov al, ah
        call hex8
        pop ax
hex8:   push ax
        shr al, 4
        call .nib
        pop ax
.nib:   push ax
        and al, 15
        add al, '0'
        cmp al, '9'
        jbe .p
        add al, 'A' - '9' - 1
.p:     call putc
        pop ax
        ret

s_entry:   db "entry CS-DS=", 0
s_ss_ok:   db " SS=DS SP=", 0
s_ss_bad:  db " SS!=DS SP=", 0
s_loader:  db "loader ", 0
s_flags:   db " flags ", 0
s_heap:    db " heap ", 0
s_vid:     db " vid ", 0
s_cmdline: db "cmdline ", 0
s_initrd:  db "initrd ", 0
s_kernel:  db "kernel ", 0
s_e820:    db "e820 ", 0
s_end:     db "end", 0

        align 8
; The GDT INT 15h AH=87h takes: two empty entries, source, destination, two for the BIOS.
gdt_move:  times 16 db 0
gdt_src:   dw 0xFFFF, 0, 0x9300, 0
gdt_dst:   dw 0xFFFF, 0, 0x9300, 0
           times 16 db 0
peek_buf:  times 8 db 0
e820_buf:  times 20 db 0

        times 1536 - ($ - $$) db 0      ; boot sector + setup_sects (2) sectors
pm_start:
        db "PMKERNEL"                   ; what the kernel line must show at 1 MB
        times 512 - ($ - pm_start) db 0x90
pm_end:
