/* Regression driver for the fuzz targets without libFuzzer: runs
 * LLVMFuzzerTestOneInput on each file (or each file of each directory) named
 * on the command line, so the corpus and every crash found so far are a
 * ctest in the ordinary (and ASan) builds. */
#include "fuzz/fuzz.h"

#include <dirent.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long len;

	if (!f) {
		perror(path);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(len > 0 ? (size_t)len : 1);
	if (!buf || (len > 0 && fread(buf, 1, (size_t)len, f) != (size_t)len)) {
		perror(path);
		fclose(f);
		free(buf);
		return 1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)len);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0, bad = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		struct dirent **names;
		int n;

		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			bad |= run_file(argv[i]);
			files++;
			continue;
		}
		n = scandir(argv[i], &names, NULL, alphasort);
		for (int j = 0; j < n; j++) {
			char p[4096];

			if (names[j]->d_name[0] != '.') {
				snprintf(p, sizeof(p), "%s/%s", argv[i], names[j]->d_name);
				bad |= run_file(p);
				files++;
			}
			free(names[j]);
		}
		free(n >= 0 ? names : NULL);
	}
	printf("%d inputs replayed\n", files);
	return bad || files == 0;
}
