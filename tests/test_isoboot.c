/* Direct ISO boot tests: isolinux/syslinux.cfg and grub.cfg parsing (default
 * label, MENU DEFAULT, INCLUDE, APPEND initrd=, missing default, grub quoting
 * and set default), then isoboot_find/load/prepare on an ISO built by xorriso. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "boot/isoboot.h"
#include "check.h"
#include "test_util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static struct isoboot_entry e;

static int sl(const char *text, const char *dir)
{
	memset(&e, 0, sizeof(e));
	return isoboot_parse_syslinux(text, strlen(text), dir, NULL, NULL, &e);
}

static int gr(const char *text)
{
	memset(&e, 0, sizeof(e));
	return isoboot_parse_grub(text, strlen(text), &e);
}

/* INCLUDE from an in-memory table of files */
static const char *inc_files[][2] = {
	{ "/isolinux/menu.cfg", "menu title x\ninclude txt.cfg\nmenu include /isolinux/adv.cfg tag\n" },
	{ "/isolinux/txt.cfg", "label install\n\tmenu label ^Install\n\tmenu default\n"
	  "\tkernel /install.amd/vmlinuz\n\tappend vga=788 initrd=/install.amd/initrd.gz --- quiet\n" },
	{ "/isolinux/adv.cfg", "label expert\n\tkernel /install.amd/vmlinuz\n\tappend priority=low\n" },
	{ "/isolinux/self.cfg", "include self.cfg\n" },
};

static int inc_fn(void *opaque, const char *path, char **text, size_t *len)
{
	int *count = opaque;
	(*count)++;
	for (size_t i = 0; i < sizeof(inc_files) / sizeof(inc_files[0]); i++)
		if (!strcmp(inc_files[i][0], path)) {
			*text = strdup(inc_files[i][1]);
			*len = strlen(*text);
			return 0;
		}
	return -ISO_ERR_NOT_FOUND;
}

/* A config text and the entry its parser must pick; NULL fields are not
 * checked. grub: isoboot_parse_grub, else isoboot_parse_syslinux in dir. */
struct cfg_case {
	int grub;
	const char *dir, *text;
	int ret;
	const char *label, *kernel, *initrd, *append;
};

static const struct cfg_case cfg_cases[] = {
	{ 0, "/isolinux", "DEFAULT linux\nLABEL other\n KERNEL /o\nLABEL linux\n KERNEL vmlinuz\n"
	  " APPEND root=/dev/sr0 initrd=initrd.img quiet\n", 0,
	  "linux", "/isolinux/vmlinuz", "/isolinux/initrd.img", "root=/dev/sr0 quiet" },
	/* keywords are case-insensitive; LINUX and INITRD; comma lists */
	{ 0, "/", "default Live\nlabel Live\n linux /casper/vmlinuz\n initrd /casper/a.gz\n"
	  " append boot=casper initrd=/b.gz,c.gz\n", 0,
	  NULL, "/casper/vmlinuz", "/casper/a.gz,/b.gz,/c.gz", "boot=casper" },
	/* DEFAULT is a menu module: MENU DEFAULT decides */
	{ 0, "/", "default vesamenu.c32\nlabel a\n kernel /a\nlabel b\n menu default\n kernel /b\n", 0,
	  NULL, "/b", NULL, NULL },
	/* missing DEFAULT, no MENU DEFAULT: first label with a Linux kernel */
	{ 0, "/", "# comment\nlabel hd\n localboot 0x80\nlabel m\n kernel memtest.c32\nlabel x\n kernel /x\n", 0,
	  "x", NULL, NULL, "" },
	/* DEFAULT naming a missing label falls back too */
	{ 0, "/", "default nosuch\nlabel y\n kernel /y\n append a=1\n", 0, NULL, "/y", NULL, NULL },
	/* global APPEND applies to labels without their own */
	{ 0, "/", "append ro initrd=/i\nlabel g\n kernel /g\n", 0, NULL, NULL, "/i", "ro" },
	/* "APPEND -" clears */
	{ 0, "/", "append ro\nlabel g\n kernel /g\n append -\n", 0, NULL, NULL, NULL, "" },
	/* DEFAULT as a kernel command line, no labels */
	{ 0, "/", "default /boot/vmlinuz console=tty0 initrd=/boot/i\n", 0,
	  NULL, "/boot/vmlinuz", "/boot/i", "console=tty0" },
	/* no Linux entry at all */
	{ 0, "/", "default menu.c32\nlabel hd\n localboot 0\n", -ISOBOOT_ERR_NO_ENTRY, NULL, NULL, NULL, NULL },
	{ 0, "/", "", -ISOBOOT_ERR_NO_ENTRY, NULL, NULL, NULL, NULL },

	{ 1, NULL, "set timeout=5\n"
	  "menuentry 'Install' --class debian {\n"
	  "  set background_color=black\n"
	  "  linux    /install.amd/vmlinuz vga=788 --- quiet\n"
	  "  initrd   /install.amd/initrd.gz\n"
	  "}\n"
	  "menuentry \"Graphical \\\"install\\\"\" {\n  linux /g/vmlinuz a=1\n  initrd /g/i1 /g/i2\n}\n", 0,
	  "Install", "/install.amd/vmlinuz", "/install.amd/initrd.gz", "vga=788 --- quiet" },
	/* set default by index, quoted; quoting with escapes in the title */
	{ 1, NULL, "set default=\"1\"\nmenuentry 'A' { linux /a; }\n"
	  "menuentry \"B \\\"b\\\"\" --id b {\n linux /b 'x y' \"z\"\n initrd /b1 /b2\n}\n", 0,
	  "B \"b\"", "/b", "/b1,/b2", "x y z" },
	/* set default by title; submenus count as an entry but are not entered */
	{ 1, NULL, "set default='Rescue'\nsubmenu 'Adv' {\n menuentry 'In sub' { linux /sub }\n}\n"
	  "menuentry 'First' { linux /first }\nmenuentry 'Rescue' { linux /rescue rescue/enable=true }\n", 0,
	  NULL, "/rescue", NULL, "rescue/enable=true" },
	{ 1, NULL, "set default=0\nsubmenu 'Adv' {\n menuentry 'In sub' { linux /sub }\n}\n"
	  "menuentry 'First' { linux /first }\n", 0, NULL, "/first", NULL, NULL },
	/* missing default: entry 0; out of range default: entry 0; nested if */
	{ 1, NULL, "if [ x = y ]; then\n set default=7\nfi\nmenuentry 'One' {\n if true; then\n  linux /one\n fi\n}\n", 0,
	  NULL, "/one", NULL, NULL },
	/* no linux entry */
	{ 1, NULL, "menuentry 'UEFI settings' { fwsetup }\n", -ISOBOOT_ERR_NO_ENTRY, NULL, NULL, NULL, NULL },
	{ 1, NULL, "# only a comment\n", -ISOBOOT_ERR_NO_ENTRY, NULL, NULL, NULL, NULL },
	/* unterminated quotes and braces do not crash */
	{ 1, NULL, "menuentry 'x { linux /y", -ISOBOOT_ERR_NO_ENTRY, NULL, NULL, NULL, NULL },
	{ 1, NULL, "menuentry x {\n linux /k \"unterminated\n", 0, NULL, "/k", NULL, NULL },
};

static void test_cfg_cases(void)
{
	for (size_t i = 0; i < sizeof(cfg_cases) / sizeof(cfg_cases[0]); i++) {
		const struct cfg_case *c = &cfg_cases[i];
		int failed = check_failed;

		CHECK_EQ(c->grub ? gr(c->text) : sl(c->text, c->dir), c->ret);
		if (c->label)
			CHECK_STR(e.label, c->label);
		if (c->kernel)
			CHECK_STR(e.kernel, c->kernel);
		if (c->initrd)
			CHECK_STR(e.initrd, c->initrd);
		if (c->append)
			CHECK_STR(e.append, c->append);
		if (check_failed != failed)
			fprintf(stderr, "  in cfg_cases[%zu]\n", i);
	}
}

static void test_syslinux(void)
{
	/* too long */
	{
		char big[6000] = "label a\n kernel /a\n append ";
		size_t o = strlen(big);
		memset(big + o, 'x', 3000);
		big[o + 3000] = 0;
		CHECK_EQ(sl(big, "/"), -ISOBOOT_ERR_TOO_LONG);
	}
	/* INCLUDE (Debian's layout), MENU INCLUDE and relative paths */
	int count = 0;
	const char *deb = "path\ninclude menu.cfg\ndefault vesamenu.c32\nprompt 0\ntimeout 0\n";
	memset(&e, 0, sizeof(e));
	CHECK_EQ(isoboot_parse_syslinux(deb, strlen(deb), "/isolinux", inc_fn, &count, &e), 0);
	CHECK_EQ(count, 3);
	CHECK_STR(e.label, "install");
	CHECK_STR(e.kernel, "/install.amd/vmlinuz");
	CHECK_STR(e.initrd, "/install.amd/initrd.gz");
	CHECK_STR(e.append, "vga=788 --- quiet");
	const char *adv = "include menu.cfg\ndefault expert\n";
	CHECK_EQ(isoboot_parse_syslinux(adv, strlen(adv), "/isolinux", inc_fn, &count, &e), 0);
	CHECK_STR(e.label, "expert");
	CHECK_STR(e.append, "priority=low");
	/* a missing include is skipped; a self-include ends with an error */
	const char *miss = "include nothere.cfg\nlabel z\n kernel /z\n";
	CHECK_EQ(isoboot_parse_syslinux(miss, strlen(miss), "/isolinux", inc_fn, &count, &e), 0);
	CHECK_STR(e.kernel, "/z");
	const char *loop = "include self.cfg\n";
	CHECK_EQ(isoboot_parse_syslinux(loop, strlen(loop), "/isolinux", inc_fn, &count, &e), -ISOBOOT_ERR_INCLUDE);
}

static char tmpdir[] = "/tmp/test_isoboot.XXXXXX";

/* tree/rel in tmpdir: the tree the ISOs are made of */
static void put_file(const char *rel, const void *data, size_t len)
{
	char r[256];
	snprintf(r, sizeof(r), "tree/%s", rel);
	test_put_file(tmpdir, r, data, len);
}

static void slurp_check(const char *path, const void *want, size_t len)
{
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	char buf[256];
	ssize_t n = read(fd, buf, sizeof(buf));
	CHECK_EQ(n, (ssize_t)len);
	if (n == (ssize_t)len)
		CHECK_MEM(buf, want, len);
	close(fd);
}

static void test_on_iso(void)
{
	if (!mkdtemp(tmpdir)) { perror("mkdtemp"); exit(2); }
	const char *cfg = "default vesamenu.c32\ninclude txt.cfg\n";
	const char *txt = "label install\n menu default\n kernel /install.amd/vmlinuz\n"
			  " append vga=788 initrd=/install.amd/initrd.gz,/install.amd/extra.gz --- quiet\n";
	put_file("isolinux/isolinux.cfg", cfg, strlen(cfg));
	put_file("isolinux/txt.cfg", txt, strlen(txt));
	put_file("install.amd/vmlinuz", "KERNEL", 6);
	put_file("install.amd/initrd.gz", "INI", 3);
	put_file("install.amd/extra.gz", "EXTRA", 5);
	const char *g = "menuentry 'Install' { linux /install.amd/vmlinuz grub=1\n initrd /install.amd/initrd.gz }\n";
	put_file("boot/grub/grub.cfg", g, strlen(g));
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "xorriso -as mkisofs -R -J -o %s/a.iso %s/tree >/dev/null 2>&1", tmpdir, tmpdir);
	CHECK_EQ(system(cmd), 0);
	char iso_path[600];
	snprintf(iso_path, sizeof(iso_path), "%s/a.iso", tmpdir);

	int fd = open(iso_path, O_RDONLY);
	struct stat st;
	CHECK(fd >= 0 && fstat(fd, &st) == 0);
	struct iso9660 iso;
	CHECK_EQ(iso9660_open(&iso, iso9660_read_fd, (void *)(intptr_t)fd, (uint64_t)st.st_size), 0);
	const char *which = NULL;
	CHECK_EQ(isoboot_find(&iso, &e, &which), 0);
	CHECK_STR(which, "/isolinux/isolinux.cfg");
	CHECK_STR(e.kernel, "/install.amd/vmlinuz");
	struct isoboot_image img;
	CHECK_EQ(isoboot_load(&iso, &e, "console=ttyS0", &img), 0);
	CHECK_EQ(img.kernel_len, 6);
	CHECK_MEM(img.kernel, "KERNEL", 6);
	/* initrds concatenated, the second 4-byte aligned */
	CHECK_EQ(img.initrd_len, 9);
	CHECK_MEM(img.initrd, "INI\0EXTRA", 9);
	CHECK_STR(img.cmdline, "vga=788 --- quiet console=ttyS0");
	isoboot_image_free(&img);
	/* a missing initrd is an error naming it */
	strcpy(e.initrd, "/install.amd/nothere.gz");
	CHECK_EQ(isoboot_load(&iso, &e, NULL, &img), -ISO_ERR_NOT_FOUND);
	close(fd);

	char kp[64], ip[64], cl[ISOBOOT_CMDLINE_MAX + 64], err[512];
	CHECK_EQ(isoboot_prepare(iso_path, kp, sizeof(kp), ip, sizeof(ip), cl, sizeof(cl), err, sizeof(err)), 0);
	CHECK_STR(cl, "vga=788 --- quiet console=ttyS0");
	slurp_check(kp, "KERNEL", 6);
	slurp_check(ip, "INI\0EXTRA", 9);
	isoboot_release(kp);
	isoboot_release(ip);
	CHECK(open(kp, O_RDONLY) < 0);
	CHECK(open(ip, O_RDONLY) < 0);

	/* grub only: remove the isolinux directory */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/tree/isolinux && xorriso -as mkisofs -R -o %s/b.iso %s/tree >/dev/null 2>&1",
		 tmpdir, tmpdir, tmpdir);
	CHECK_EQ(system(cmd), 0);
	snprintf(iso_path, sizeof(iso_path), "%s/b.iso", tmpdir);
	CHECK_EQ(isoboot_prepare(iso_path, kp, sizeof(kp), ip, sizeof(ip), cl, sizeof(cl), err, sizeof(err)), 0);
	CHECK_STR(cl, "grub=1 console=ttyS0");
	slurp_check(ip, "INI", 3);

	/* no configuration at all */
	snprintf(cmd, sizeof(cmd), "rm -rf %s/tree/boot && xorriso -as mkisofs -R -o %s/c.iso %s/tree >/dev/null 2>&1",
		 tmpdir, tmpdir, tmpdir);
	CHECK_EQ(system(cmd), 0);
	snprintf(iso_path, sizeof(iso_path), "%s/c.iso", tmpdir);
	CHECK_EQ(isoboot_prepare(iso_path, kp, sizeof(kp), ip, sizeof(ip), cl, sizeof(cl), err, sizeof(err)),
		 -ISOBOOT_ERR_NO_CONFIG);
	CHECK(strstr(err, "no isolinux, syslinux or grub configuration") != NULL);
	/* not an ISO */
	CHECK_EQ(isoboot_prepare("/proc/self/cmdline", kp, sizeof(kp), ip, sizeof(ip), cl, sizeof(cl), err, sizeof(err)),
		 -ISO_ERR_TRUNCATED);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd)) {}
}

int main(void)
{
	test_cfg_cases();
	test_syslinux();
	if (system("command -v xorriso >/dev/null 2>&1") == 0)
		test_on_iso();
	else
		printf("xorriso not installed: ISO cases skipped\n");
	return check_done();
}
