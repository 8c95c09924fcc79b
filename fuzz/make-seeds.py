#!/usr/bin/env python3
"""Writes the seed corpus of each fuzz target under fuzz/corpus/<target>/
(seed-*). Needs qemu-img, qemu-io and xorriso (scripts/install-deps).
Regression inputs (crash-*) found by the fuzzers are kept next to them."""
import os, struct, subprocess, tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

def put(target, name, data):
    d = os.path.join(HERE, 'corpus', target)
    os.makedirs(d, exist_ok=True)
    if target in ('virtqueue', 'virtio_blk', 'virtio_net', 'virtio_scsi'):
        data = data.rstrip(b'\0')    # guest RAM beyond the input is zero anyway
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)

def run(*a):
    subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

def qcow2_seeds(tmp):
    ops = bytes([0]) + b''.join(struct.pack('<BQI', op, off, ln)[:12]
                                for op, off, ln in [(0, 0, 4096), (1, 65536, 8192), (5, 0, 4096),
                                                    (2, 0, 512), (3, 4096, 4096), (4, 0, 0), (6, 0, 0), (7, 0, 0)])
    for name, opts, io in [('v3', 'cluster_size=65536', 'write -P 0x11 0 8k'),
                           ('v2-512', 'compat=0.10,cluster_size=512', 'write -P 0x22 4k 4k'),
                           ('refbits1', 'cluster_size=4096,refcount_bits=1', 'write -P 0x33 0 1k'),
                           ('zstd', 'cluster_size=4096,compression_type=zstd', 'write -c -P 0x44 0 4k'),
                           ('extl2', 'cluster_size=65536,extended_l2=on', 'write -P 0x55 1k 2k')]:
        p = os.path.join(tmp, name + '.qcow2')
        run('qemu-img', 'create', '-f', 'qcow2', '-o', opts, p, '1M')
        run('qemu-io', '-f', 'qcow2', '-c', io, p)
        img = open(p, 'rb').read()
        put('qcow2', name, struct.pack('<I', len(img)) + img + ops)
    p = os.path.join(tmp, 'snap.qcow2')
    run('qemu-img', 'create', '-f', 'qcow2', '-o', 'cluster_size=4096', p, '256K')
    run('qemu-io', '-f', 'qcow2', '-c', 'write -P 0x66 0 4k', p)
    run('qemu-img', 'snapshot', '-c', 's1', p)
    img = open(p, 'rb').read()
    put('qcow2', 'snapshot', struct.pack('<I', len(img)) + img + ops)

def desc(addr, ln, flags, nxt):
    return struct.pack('<QIHH', addr, ln, flags, nxt)

def ring(descs, heads, size=16, avail=0x1000):
    """RAM bytes: descriptor table at 0, avail ring at avail (used after it)."""
    ram = bytearray(0x10000)
    for i, d in enumerate(descs):
        ram[16 * i:16 * i + 16] = d
    struct.pack_into('<HH', ram, avail, 0, len(heads))
    for i, h in enumerate(heads):
        struct.pack_into('<H', ram, avail + 4 + 2 * i, h)
    return ram

def virtqueue_seeds():
    # queue size 16 (cfg % 9 == 4), indirect + event idx (bits 4, 5); avail at 0x4000.
    cfg = struct.pack('<I', 4 | 0x30)
    ram = ring([desc(0x8000, 64, 1, 1), desc(0x8100, 32, 3, 2), desc(0x8200, 16, 2, 0),
                desc(0x9000, 48, 4, 0)], [0, 3], avail=0x4000)
    struct.pack_into('<QIHH', ram, 0x9000, 0x8300, 8, 1, 1)
    struct.pack_into('<QIHH', ram, 0x9010, 0x8400, 8, 2, 0)
    put('virtqueue', 'chains', cfg + bytes(ram))
    ram = ring([desc(0x8000, 64, 1, 1), desc(0x8100, 32, 1, 0)], [0, 1, 0], avail=0x4000)
    ram[16 + 14:16 + 16] = struct.pack('<H', 0)
    put('virtqueue', 'loop', cfg + bytes(ram))

def blk_seeds():
    def req(t, sector, data_len, write):
        ram = ring([desc(0x3000, 16, 1, 1), desc(0x4000, data_len, 1 | (2 if write else 0), 2),
                    desc(0x5000, 1, 2, 0)], [0])
        struct.pack_into('<IIQ', ram, 0x3000, t, 0, sector)
        return ram
    feat = struct.pack('<I', 0x7fffffff)
    put('virtio_blk', 'read', feat + bytes(req(0, 2, 1024, True)))
    put('virtio_blk', 'write', feat + bytes(req(1, 4, 512, False)))
    put('virtio_blk', 'getid', feat + bytes(req(8, 0, 20, True)))
    ram = ring([desc(0x3000, 16, 1, 1), desc(0x5000, 1, 2, 0)], [0])
    struct.pack_into('<IIQ', ram, 0x3000, 4, 0, 0)
    put('virtio_blk', 'flush', feat + bytes(ram))
    ram = req(13, 0, 16, False)
    struct.pack_into('<QII', ram, 0x4000, 8, 16, 0)
    put('virtio_blk', 'write-zeroes', feat + bytes(ram))

def net_seeds():
    ram = bytearray(0x10000)
    # rx queue 0 at 0x0, tx queue 1 at 0x800: one tx chain (12-byte header + 60-byte frame).
    base = 0x800
    ram[base:base + 16] = desc(0x8000, 12, 1, 1)
    ram[base + 16:base + 32] = desc(0x8100, 60, 0, 0)
    struct.pack_into('<HHH', ram, base + 0x200, 0, 1, 0)
    ram[0x8100:0x8100 + 12] = b'\xff' * 6 + b'\x52\x54\x00\x12\x34\x56'
    # rx buffer
    ram[0:16] = desc(0xa000, 2048, 2, 0)
    struct.pack_into('<HHH', ram, 0x200, 0, 1, 0)
    put('virtio_net', 'tx-rx', struct.pack('<Q', 0xffffffff | (64 << 48)) + bytes(ram))

def scsi_seeds():
    # fuzz_virtio_scsi.c: queue q's ring at q * 0x4000 (desc, avail +0x1000, used
    # +0x2000); commands on the request queue (2), one TMF on the control queue (0).
    def cmd_chain(ram, slot, cdb, in_len):
        base, req, resp, data = 0x8000, 0xb000 + 0x100 * slot, 0xc000 + 0x100 * slot, 0xd000
        d = 3 * slot
        ram[req:req + 51] = bytes([1, 0, 0x40, 0]) + bytes(4) + struct.pack('<Q', 42 + slot) + \
            bytes(3) + cdb.ljust(32, b'\0')
        ram[base + 16 * d:base + 16 * d + 16] = desc(req, 51, 1, d + 1)
        ram[base + 16 * (d + 1):base + 16 * (d + 2)] = desc(resp, 108, 2 | (1 if in_len else 0), d + 2)
        if in_len:
            ram[base + 16 * (d + 2):base + 16 * (d + 3)] = desc(data, in_len, 2, 0)
        n = struct.unpack_from('<H', ram, base + 0x1002)[0]
        struct.pack_into('<H', ram, base + 0x1004 + 2 * n, d)
        struct.pack_into('<H', ram, base + 0x1002, n + 1)
    feat = struct.pack('<I', 0x7fffffff)
    ram = bytearray(0x10000)
    for i, (cdb, ln) in enumerate([(b'\x12\0\0\0\x60\0', 96),            # INQUIRY
                                   (b'\x00' * 6, 0),                          # TEST UNIT READY
                                   (b'\x25' + bytes(9), 8),                   # READ CAPACITY(10)
                                   (b'\x28\0\0\0\0\x02\0\0\x01\0', 2048)]):  # READ(10) LBA 2
        cmd_chain(ram, i, cdb, ln)
    put('virtio_scsi', 'commands', feat + bytes(ram))
    ram = bytearray(0x10000)
    cmd_chain(ram, 0, b'\x4a\x01\0\0\x10\0\0\0\x08\0', 8)      # GET EVENT STATUS NOTIFICATION
    cmd_chain(ram, 1, b'\x1b\0\0\0\x02\0', 0)                        # START STOP UNIT: eject
    # control queue: TMF ABORT TASK (type 0, subtype 0), 51-byte request, 1-byte response
    struct.pack_into('<II', ram, 0xe000, 0, 0)
    ram[0xe008:0xe010] = bytes([1, 0, 0x40, 0]) + bytes(4)
    ram[0:16] = desc(0xe000, 24, 1, 1)
    ram[16:32] = desc(0xe100, 1, 2, 0)
    struct.pack_into('<HHH', ram, 0x1000, 0, 1, 0)
    put('virtio_scsi', 'gesn-eject-tmf', feat + bytes(ram))
    put('virtio_scsi', 'empty-drive', struct.pack('<I', 0xffffffff) + bytes(ram))

def boot_seeds():
    # Minimal ELF64 with one PT_LOAD at 1 MiB.
    code = b'\xf4' * 16
    eh = struct.pack('<4sBBBBB7sHHIQQQIHHHHHH', b'\x7fELF', 2, 1, 1, 0, 0, b'\0' * 7,
                     2, 62, 1, 0x100000, 64, 0, 0, 64, 56, 1, 0, 0, 0)
    ph = struct.pack('<IIQQQQQQ', 1, 7, 120, 0x100000, 0x100000, len(code), len(code), 0x1000)
    put('boot', 'elf64', bytes([0]) + eh + ph + code)
    # bzImage: boot sector + setup header (protocol 2.15), one setup sector, payload.
    img = bytearray(512 * 2 + 4096)
    img[0x1f1] = 1
    struct.pack_into('<H', img, 0x1fe, 0xaa55)
    img[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', img, 0x206, 0x020f)
    img[0x211] = 1                                  # loadflags: LOADED_HIGH
    struct.pack_into('<I', img, 0x214, 0x100000)
    struct.pack_into('<I', img, 0x22c, 0x7fffffff)  # initrd_addr_max
    struct.pack_into('<I', img, 0x230, 0x200000)    # kernel_alignment
    img[0x234] = 1
    struct.pack_into('<H', img, 0x236, 0x3)         # xloadflags: KERNEL_64 | CAN_BE_LOADED_ABOVE_4G
    struct.pack_into('<I', img, 0x238, 2048)        # cmdline_size
    struct.pack_into('<Q', img, 0x258, 0x1000000)   # pref_address
    struct.pack_into('<I', img, 0x260, 0x10000)     # init_size
    put('boot', 'bzimage', bytes([4 | 8]) + bytes(img))
    # multiboot 1 header with the address fields (a.out kludge).
    mb = bytearray(8192)
    struct.pack_into('<IIIIIIII', mb, 0, 0x1BADB002, 0x10003, (-(0x1BADB002 + 0x10003)) & 0xffffffff,
                     0x100000, 0x100000, 0x102000, 0x102000, 0x100020)
    put('boot', 'multiboot', bytes([4 | 8]) + bytes(mb))

def fw_cfg_seeds():
    ram = bytearray(4096)
    # DMA descriptor at 0x100: control = select key 0x19 | read, length 64, address 0x200 (big-endian).
    struct.pack_into('>IIQ', ram, 0x100, (0x19 << 16) | 0x08 | 0x02, 64, 0x200)
    ops = bytearray()
    ops += bytes([0x80 | 0x10 | 0]) + struct.pack('<H', 0x0)        # select signature (16-bit write, port 0)
    ops += bytes([1, 1, 1, 1])                                       # data reads
    ops += bytes([0x80 | 0x10 | 0]) + struct.pack('<H', 0x19)        # file dir
    ops += bytes([1] * 8)
    ops += bytes([0x80 | 0x20 | 4]) + struct.pack('>I', 0)           # DMA high
    ops += bytes([0x80 | 0x20 | 8]) + struct.pack('>I', 0x100)       # DMA low: go
    put('fw_cfg', 'dma', bytes(ram) + bytes(ops))

def qmp_seeds():
    put('qmp', 'caps', b'{"execute": "qmp_capabilities"}\r\n{"execute": "query-status", "id": 1}\r\n')
    put('qmp', 'cmds', b'{"execute":"qmp_capabilities"}{"execute":"stop"}{"execute":"cont"}'
        b'{"execute":"query-cpus-fast"}{"execute":"query-block"}{"execute":"system_reset"}'
        b'{"execute":"query-commands"}{"execute":"human-monitor-command","arguments":{"command-line":"info status"}}'
        b'{"execute":"system_powerdown"}{"execute":"quit"}')
    put('qmp', 'bad', b'{"execute": 1}[1,2,{"a":[[[[]]]]}]"\\u0000"{"execute":"x","arguments":[]}\xff\n')

def iso_seeds(tmp):
    root = os.path.join(tmp, 'iso')
    os.makedirs(os.path.join(root, 'isolinux'), exist_ok=True)
    os.makedirs(os.path.join(root, 'boot', 'grub'), exist_ok=True)
    open(os.path.join(root, 'isolinux', 'isolinux.cfg'), 'w').write(
        'DEFAULT linux\nLABEL linux\n  KERNEL /boot/vmlinuz\n  APPEND initrd=/boot/initrd.img console=ttyS0\n')
    open(os.path.join(root, 'boot', 'grub', 'grub.cfg'), 'w').write(
        'set default=0\nmenuentry "x" {\n linux /boot/vmlinuz quiet\n initrd /boot/initrd.img\n}\n')
    open(os.path.join(root, 'boot', 'vmlinuz'), 'wb').write(b'k' * 100)
    open(os.path.join(root, 'boot', 'initrd.img'), 'wb').write(b'i' * 100)
    for name, extra in [('rr-joliet', ['-R', '-J']), ('plain', [])]:
        p = os.path.join(tmp, name + '.iso')
        run('xorriso', '-as', 'mkisofs', '-quiet', *extra, '-V', 'FUZZ', '-o', p, root)
        put('iso9660', name, open(p, 'rb').read())

def bootcfg_seeds():
    put('bootcfg', 'isolinux', b'\0' + b'DEFAULT vesamenu.c32\nPROMPT 0\nTIMEOUT 50\nINCLUDE menu.cfg\n'
        b'LABEL live\n  MENU LABEL Live\n  MENU DEFAULT\n  KERNEL /live/vmlinuz\n  INITRD /live/initrd.img\n'
        b'  APPEND boot=live quiet\nLABEL hd\n  LOCALBOOT 0x80\nLABEL other\n  LINUX vmlinuz2\n  APPEND initrd=a.img,b.img x=1\n')
    put('bootcfg', 'grub', b'\1' + b'set default="1"\nset timeout=5\nmenuentry "One" --id one {\n  linux /vmlinuz ro\n'
        b'  initrd /initrd\n}\nsubmenu "S" {\n menuentry "in" { linux /x }\n}\nmenuentry \'Two\' {\n'
        b'  linux16 /boot/vmlinuz2 console=ttyS0\n  initrd16 /boot/i2\n}\n')

with tempfile.TemporaryDirectory() as tmp:
    qcow2_seeds(tmp)
    virtqueue_seeds()
    blk_seeds()
    net_seeds()
    scsi_seeds()
    boot_seeds()
    fw_cfg_seeds()
    qmp_seeds()
    iso_seeds(tmp)
    bootcfg_seeds()
