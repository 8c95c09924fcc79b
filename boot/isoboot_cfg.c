/* Direct ISO boot, the configuration half: picks the default Linux entry of
 * an ISOLINUX/SYSLINUX configuration (syslinux.org wiki "Config": DEFAULT,
 * LABEL, KERNEL/LINUX, INITRD, APPEND, INCLUDE, MENU DEFAULT) or a GRUB 2
 * grub.cfg (menuentry, linux, initrd, set default). The text is untrusted:
 * every copy is bounded. Reading the ISO is boot/isoboot.c's. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "boot/isoboot.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define SYSLINUX_MAX_LABELS 256
#define SYSLINUX_MAX_INCLUDE 8

static int copy_str(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -ISOBOOT_ERR_TOO_LONG;
	memcpy(dst, src, n);
	dst[n] = 0;
	return 0;
}

/* dst = path resolved against dir ("/" separated, absolute result). */
static int resolve(char *dst, size_t cap, const char *dir, const char *path, size_t n)
{
	if (n && path[0] == '/')
		return copy_str(dst, cap, path, n);
	size_t dl = dir ? strlen(dir) : 0;
	if (dl + 1 + n + 1 > cap)
		return -ISOBOOT_ERR_TOO_LONG;
	size_t o = 0;
	if (!dl || dir[0] != '/')
		dst[o++] = '/';
	memcpy(dst + o, dir, dl);
	o += dl;
	if (o && dst[o - 1] != '/')
		dst[o++] = '/';
	memcpy(dst + o, path, n);
	dst[o + n] = 0;
	return 0;
}

static int is_linux_kernel(const char *k)
{
	size_t n = strlen(k);
	if (!n)
		return 0;
	static const char *const not_linux[] = { ".c32", ".com", ".cbt", ".bin", ".bs", ".bss", ".0", ".img" };
	for (size_t i = 0; i < sizeof(not_linux) / sizeof(not_linux[0]); i++) {
		size_t l = strlen(not_linux[i]);
		if (n > l && strcasecmp(k + n - l, not_linux[i]) == 0)
			return 0;
	}
	return 1;
}

/* --- SYSLINUX ------------------------------------------------------------ */

struct sl_state {
	struct isoboot_entry *e;   /* labels */
	unsigned n;
	int cur;                   /* current label or -1 */
	int menu_default;          /* label index or -1 */
	char def[128];
	char global_append[ISOBOOT_CMDLINE_MAX];
	char dir[ISOBOOT_PATH_MAX];
	isoboot_include_fn inc;
	void *opaque;
	char has_append[SYSLINUX_MAX_LABELS];
};

static int kw(const char *w, size_t n, const char *k)
{
	return strlen(k) == n && strncasecmp(w, k, n) == 0;
}

/* Adds path list (comma-separated, relative to dir) to e->initrd. */
static int add_initrds(struct sl_state *s, struct isoboot_entry *e, const char *list, size_t n)
{
	while (n) {
		size_t l = 0;
		while (l < n && list[l] != ',')
			l++;
		if (l) {
			char p[ISOBOOT_PATH_MAX];
			int r = resolve(p, sizeof(p), s ? s->dir : "/", list, l);
			if (r)
				return r;
			size_t have = strlen(e->initrd);
			if (have + !!have + strlen(p) + 1 > sizeof(e->initrd))
				return -ISOBOOT_ERR_TOO_LONG;
			if (have)
				e->initrd[have++] = ',';
			strcpy(e->initrd + have, p);
		}
		list += l;
		n -= l;
		if (n) {
			list++;
			n--;
		}
	}
	return 0;
}

/* Splits APPEND arguments: initrd= goes to e->initrd, the rest to e->append. */
static int set_append(struct sl_state *s, struct isoboot_entry *e, const char *a, size_t n)
{
	size_t o = 0;
	e->append[0] = 0;
	if (n == 1 && a[0] == '-')
		return 0; /* "APPEND -": no arguments */
	for (size_t i = 0; i < n;) {
		while (i < n && isspace((unsigned char)a[i]))
			i++;
		size_t st = i;
		while (i < n && !isspace((unsigned char)a[i]))
			i++;
		if (i == st)
			break;
		if (i - st > 7 && strncmp(a + st, "initrd=", 7) == 0) {
			int r = add_initrds(s, e, a + st + 7, i - st - 7);
			if (r)
				return r;
			continue;
		}
		if (o + !!o + (i - st) + 1 > sizeof(e->append))
			return -ISOBOOT_ERR_TOO_LONG;
		if (o)
			e->append[o++] = ' ';
		memcpy(e->append + o, a + st, i - st);
		o += i - st;
		e->append[o] = 0;
	}
	return 0;
}

static int sl_parse(struct sl_state *s, const char *text, size_t len, int depth);

static int sl_line(struct sl_state *s, const char *l, size_t n, int depth)
{
	while (n && isspace((unsigned char)*l))
		l++, n--;
	while (n && isspace((unsigned char)l[n - 1]))
		n--;
	if (!n || *l == '#')
		return 0;
	size_t w = 0;
	while (w < n && !isspace((unsigned char)l[w]))
		w++;
	const char *arg = l + w;
	size_t an = n - w;
	while (an && isspace((unsigned char)*arg))
		arg++, an--;
	struct isoboot_entry *e = s->cur >= 0 ? &s->e[s->cur] : NULL;

	if (kw(l, w, "menu")) {
		size_t w2 = 0;
		while (w2 < an && !isspace((unsigned char)arg[w2]))
			w2++;
		if (kw(arg, w2, "default")) {
			if (s->cur >= 0 && s->menu_default < 0)
				s->menu_default = s->cur;
			return 0;
		}
		if (kw(arg, w2, "include")) {
			l = arg;
			n = an;
			w = w2;
			arg = l + w;
			an = n - w;
			while (an && isspace((unsigned char)*arg))
				arg++, an--;
			/* "MENU INCLUDE file [tag]": the file only */
			size_t f = 0;
			while (f < an && !isspace((unsigned char)arg[f]))
				f++;
			an = f;
			goto include;
		}
		if (kw(arg, w2, "label") && e) {
			/* display name only: keep the LABEL name */
			return 0;
		}
		return 0;
	}
	if (kw(l, w, "include")) {
include:
		if (!s->inc || !an)
			return 0;
		if (depth >= SYSLINUX_MAX_INCLUDE)
			return -ISOBOOT_ERR_INCLUDE;
		char p[ISOBOOT_PATH_MAX];
		int r = resolve(p, sizeof(p), s->dir, arg, an);
		if (r)
			return r;
		char *t = NULL;
		size_t tl = 0;
		if (s->inc(s->opaque, p, &t, &tl) < 0)
			return 0; /* syslinux skips a missing include */
		r = sl_parse(s, t, tl, depth + 1);
		free(t);
		return r;
	}
	if (kw(l, w, "default"))
		return copy_str(s->def, sizeof(s->def), arg, an);
	if (kw(l, w, "label")) {
		if (s->n >= SYSLINUX_MAX_LABELS)
			return 0;
		s->cur = (int)s->n++;
		e = &s->e[s->cur];
		memset(e, 0, sizeof(*e));
		return copy_str(e->label, sizeof(e->label), arg, an);
	}
	if (kw(l, w, "kernel") || kw(l, w, "linux")) {
		if (!e)
			return 0;
		size_t f = 0;
		while (f < an && !isspace((unsigned char)arg[f]))
			f++;
		return resolve(e->kernel, sizeof(e->kernel), s->dir, arg, f);
	}
	if (kw(l, w, "initrd")) {
		if (!e)
			return 0;
		return add_initrds(s, e, arg, an);
	}
	if (kw(l, w, "append")) {
		if (!e) {
			if (an >= sizeof(s->global_append))
				return -ISOBOOT_ERR_TOO_LONG;
			memcpy(s->global_append, arg, an);
			s->global_append[an] = 0;
			return 0;
		}
		s->has_append[s->cur] = 1;
		return set_append(s, e, arg, an);
	}
	return 0;
}

static int sl_parse(struct sl_state *s, const char *text, size_t len, int depth)
{
	size_t i = 0;
	while (i < len) {
		size_t st = i;
		while (i < len && text[i] != '\n' && text[i] != 0)
			i++;
		int r = sl_line(s, text + st, i - st, depth);
		if (r)
			return r;
		i++;
	}
	return 0;
}

int isoboot_parse_syslinux(const char *text, size_t len, const char *dir,
			   isoboot_include_fn inc, void *opaque, struct isoboot_entry *out)
{
	struct sl_state *s = calloc(1, sizeof(*s));
	if (!s)
		return -ISOBOOT_ERR_NOMEM;
	s->e = calloc(SYSLINUX_MAX_LABELS, sizeof(*s->e));
	if (!s->e) {
		free(s);
		return -ISOBOOT_ERR_NOMEM;
	}
	s->cur = -1;
	s->menu_default = -1;
	s->inc = inc;
	s->opaque = opaque;
	int r = copy_str(s->dir, sizeof(s->dir), dir ? dir : "/", strlen(dir ? dir : "/"));
	if (!r)
		r = sl_parse(s, text, len, 0);
	int pick = -1;
	if (!r) {
		/* DEFAULT names a label (first word), else it is a module or a kernel. */
		size_t dw = strcspn(s->def, " \t");
		for (unsigned i = 0; i < s->n && pick < 0 && dw; i++)
			if (strlen(s->e[i].label) == dw && strncmp(s->e[i].label, s->def, dw) == 0 &&
			    is_linux_kernel(s->e[i].kernel))
				pick = (int)i;
		for (unsigned i = 0; i < s->n && pick < 0 && dw; i++)
			if (strlen(s->e[i].label) == dw && strncasecmp(s->e[i].label, s->def, dw) == 0 &&
			    is_linux_kernel(s->e[i].kernel))
				pick = (int)i;
		if (pick < 0 && s->menu_default >= 0 && is_linux_kernel(s->e[s->menu_default].kernel))
			pick = s->menu_default;
		for (unsigned i = 0; i < s->n && pick < 0; i++)
			if (is_linux_kernel(s->e[i].kernel))
				pick = (int)i;
		if (pick >= 0) {
			*out = s->e[pick];
			if (!s->has_append[pick] && s->global_append[0])
				r = set_append(s, out, s->global_append, strlen(s->global_append));
		} else if (dw && is_linux_kernel(s->def) && s->n == 0) {
			/* "DEFAULT vmlinuz args" without labels: a kernel command line */
			memset(out, 0, sizeof(*out));
			r = resolve(out->kernel, sizeof(out->kernel), s->dir, s->def, dw);
			if (!r) {
				const char *a = s->def + dw;
				r = set_append(s, out, a, strlen(a));
			}
			if (!r && !out->append[0] && s->global_append[0])
				r = set_append(s, out, s->global_append, strlen(s->global_append));
		} else {
			r = -ISOBOOT_ERR_NO_ENTRY;
		}
	}
	free(s->e);
	free(s);
	return r;
}

/* --- GRUB ---------------------------------------------------------------- */

#define GRUB_MAX_WORDS 64
#define GRUB_WORD_MAX 1024

struct grub_state {
	char words[GRUB_MAX_WORDS][GRUB_WORD_MAX];
	int brace[GRUB_MAX_WORDS];  /* 1 '{', 2 '}' (unquoted) */
	unsigned nw;
	int depth;
	int entry_depth;            /* depth inside the current menuentry, or -1 */
	int skip_depth;             /* inside a submenu, or -1 */
	unsigned nentries;
	int chosen;                 /* index of the entry being filled into out, or -1 */
	char def[GRUB_WORD_MAX];
	struct isoboot_entry *entries;
	unsigned cap;
};

static int grub_cmd(struct grub_state *g, int open_brace)
{
	int r = 0;
	unsigned n = g->nw;
	g->nw = 0;
	if (n == 0) {
		if (open_brace)
			g->depth++;
		return 0;
	}
	const char *c = g->words[0];
	int in_entry = g->entry_depth >= 0 && g->skip_depth < 0;
	if (open_brace && g->entry_depth < 0 && g->skip_depth < 0 &&
	    (!strcmp(c, "menuentry") || !strcmp(c, "submenu"))) {
		const char *title = "";
		for (unsigned i = 1; i < n; i++) {
			const char *w = g->words[i];
			if (!strncmp(w, "--", 2)) {
				if (!strchr(w, '=') && (!strcmp(w, "--class") || !strcmp(w, "--users") ||
							!strcmp(w, "--id") || !strcmp(w, "--hotkey")))
					i++;
				continue;
			}
			title = w;
			break;
		}
		g->depth++;
		if (g->nentries >= g->cap)
			return 0;
		struct isoboot_entry *e = &g->entries[g->nentries++];
		memset(e, 0, sizeof(*e));
		r = copy_str(e->label, sizeof(e->label), title, strnlen(title, sizeof(e->label) - 1));
		if (!strcmp(c, "submenu"))
			g->skip_depth = g->depth;
		else
			g->entry_depth = g->depth;
		return r;
	}
	if (open_brace)
		g->depth++;
	if (in_entry && g->nentries) {
		struct isoboot_entry *e = &g->entries[g->nentries - 1];
		if ((!strcmp(c, "linux") || !strcmp(c, "linux16") || !strcmp(c, "linuxefi")) && n >= 2) {
			r = resolve(e->kernel, sizeof(e->kernel), "/", g->words[1], strlen(g->words[1]));
			e->append[0] = 0;
			size_t o = 0;
			for (unsigned i = 2; i < n && !r; i++) {
				size_t l = strlen(g->words[i]);
				if (o + !!o + l + 1 > sizeof(e->append))
					return -ISOBOOT_ERR_TOO_LONG;
				if (o)
					e->append[o++] = ' ';
				memcpy(e->append + o, g->words[i], l + 1);
				o += l;
			}
		} else if (!strcmp(c, "initrd") || !strcmp(c, "initrd16") || !strcmp(c, "initrdefi")) {
			e->initrd[0] = 0;
			for (unsigned i = 1; i < n && !r; i++)
				r = add_initrds(NULL, e, g->words[i], strlen(g->words[i]));
		}
		return r;
	}
	if (g->entry_depth < 0 && g->skip_depth < 0 && !strcmp(c, "set") && n >= 2 &&
	    !strncmp(g->words[1], "default=", 8)) {
		const char *v = g->words[1] + 8;
		if (!*v && n >= 3)
			v = g->words[2];
		return copy_str(g->def, sizeof(g->def), v, strlen(v));
	}
	return 0;
}

static void grub_close(struct grub_state *g)
{
	if (g->depth > 0)
		g->depth--;
	if (g->entry_depth >= 0 && g->depth < g->entry_depth)
		g->entry_depth = -1;
	if (g->skip_depth >= 0 && g->depth < g->skip_depth)
		g->skip_depth = -1;
}

int isoboot_parse_grub(const char *text, size_t len, struct isoboot_entry *out)
{
	struct grub_state *g = calloc(1, sizeof(*g));
	if (!g)
		return -ISOBOOT_ERR_NOMEM;
	g->cap = 128;
	g->entries = calloc(g->cap, sizeof(*g->entries));
	if (!g->entries) {
		free(g);
		return -ISOBOOT_ERR_NOMEM;
	}
	g->entry_depth = g->skip_depth = -1;
	int r = 0;
	size_t i = 0;
	while (i <= len && !r) {
		char ch = i < len ? text[i] : '\n';
		if (ch == 0)
			ch = '\n';
		if (ch == '\n' || ch == ';') {
			r = grub_cmd(g, 0);
			i++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			i++;
			continue;
		}
		if (ch == '#') {
			while (i < len && text[i] != '\n')
				i++;
			continue;
		}
		if ((ch == '{' || ch == '}') && (i + 1 >= len || isspace((unsigned char)text[i + 1]) ||
						 text[i + 1] == ';')) {
			if (ch == '{') {
				r = grub_cmd(g, 1);
			} else {
				r = grub_cmd(g, 0);
				grub_close(g);
			}
			i++;
			continue;
		}
		/* one word, with quoting */
		char w[GRUB_WORD_MAX];
		size_t o = 0;
		int toolong = 0;
		while (i < len) {
			ch = text[i];
			if (ch == '\n' || ch == ';' || ch == ' ' || ch == '\t' || ch == '\r' || ch == 0)
				break;
			if (ch == '\'') {
				i++;
				while (i < len && text[i] != '\'') {
					if (o + 1 < sizeof(w)) w[o++] = text[i]; else toolong = 1;
					i++;
				}
				i++;
				continue;
			}
			if (ch == '"') {
				i++;
				while (i < len && text[i] != '"') {
					if (text[i] == '\\' && i + 1 < len &&
					    (text[i + 1] == '"' || text[i + 1] == '\\' || text[i + 1] == '$'))
						i++;
					if (o + 1 < sizeof(w)) w[o++] = text[i]; else toolong = 1;
					i++;
				}
				i++;
				continue;
			}
			if (ch == '\\' && i + 1 < len) {
				i++;
				ch = text[i];
				if (ch == '\n') {
					i++;
					continue;
				}
			}
			if (o + 1 < sizeof(w)) w[o++] = ch; else toolong = 1;
			i++;
		}
		if (toolong) {
			r = -ISOBOOT_ERR_TOO_LONG;
			break;
		}
		w[o] = 0;
		if (g->nw < GRUB_MAX_WORDS) {
			memcpy(g->words[g->nw], w, o + 1);
			g->nw++;
		}
	}
	if (!r)
		r = grub_cmd(g, 0); /* text ended inside quotes */
	if (!r) {
		int pick = -1;
		char *end = NULL;
		long n = strtol(g->def, &end, 10);
		if (g->def[0] && end && !*end && n >= 0 && (unsigned long)n < g->nentries)
			pick = (int)n;
		for (unsigned k = 0; k < g->nentries && pick < 0 && g->def[0]; k++)
			if (!strcmp(g->entries[k].label, g->def))
				pick = (int)k;
		if (pick >= 0 && !is_linux_kernel(g->entries[pick].kernel))
			pick = -1;
		if (pick < 0 && g->nentries && is_linux_kernel(g->entries[0].kernel))
			pick = 0;
		for (unsigned k = 0; k < g->nentries && pick < 0; k++)
			if (is_linux_kernel(g->entries[k].kernel))
				pick = (int)k;
		if (pick >= 0)
			*out = g->entries[pick];
		else
			r = -ISOBOOT_ERR_NO_ENTRY;
	}
	free(g->entries);
	free(g);
	return r;
}
