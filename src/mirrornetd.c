/* mirrornetd: the mesh daemon; everything lives in the library. */
#include "src/daemon/daemon.h"

int main(int argc, char **argv)
{
	return daemon_main(argc, argv);
}
