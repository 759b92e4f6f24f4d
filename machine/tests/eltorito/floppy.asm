; Boot sector of a 1.44 MB floppy image booted by El Torito floppy emulation
; (machine/tests/eltorito.rs): it runs with DL = 00h, reads the image through INT 13h,
; ends the emulation with AX=4B00h, leaves the results at 0600h and stops through port
; F4h. The image's last sector holds "LAST SECTOR".
bits 16
org 0x7C00
    jmp short start
    nop
start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00
    mov [0x600], dl
    ; AH=08h: the emulated drive's geometry.
    mov ah, 0x08
    mov dl, [0x600]
    int 0x13
    setc [0x601]
    mov [0x602], bl
    mov [0x603], cx
    mov [0x605], dx
    xor ax, ax
    mov es, ax
    ; AH=02h: cylinder 79, head 1, sector 18 (the last) to 0000:0800.
    mov ax, 0x0201
    mov cx, (79 << 8) | 18
    mov dh, 1
    mov dl, [0x600]
    mov bx, 0x800
    int 0x13
    setc [0x607]
    ; AX=4B01h: the specification packet into 0780h.
    mov si, 0x780
    mov ax, 0x4B01
    mov dl, [0x600]
    int 0x13
    setc [0x608]
    ; AH=03h: the emulated floppy is write-protected.
    mov ax, 0x0301
    mov cx, 1
    xor dh, dh
    mov dl, [0x600]
    mov bx, 0x7C00
    int 0x13
    mov [0x609], ah
    ; AX=4B00h: end the emulation; drive 00h is then the real (absent) floppy.
    mov si, 0x7A0
    mov ax, 0x4B00
    mov dl, [0x600]
    int 0x13
    setc [0x60A]
    mov ax, 0x0201
    mov cx, 1
    xor dx, dx
    mov bx, 0x900
    int 0x13
    setc [0x60B]
    mov al, 0
    out 0xF4, al
    hlt
    times 510-($-$$) db 0
    dw 0xAA55
