/* mirrornetd: the mesh daemon. The gossip engine and the event loop land
 * with issues #3 and #4; until then it only identifies itself. */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		printf("mirrornetd %s\n", MN_VERSION);
		return 0;
	}
	fprintf(stderr, "mirrornetd %s: the daemon is not built yet; mirrornetctl has the "
		"offline tools (keygen, record, cert, store)\n", MN_VERSION);
	return argc == 2 && !strcmp(argv[1], "--help") ? 0 : 1;
}
