/* mirrornetctl: the command line; everything lives in the library. */
#include "src/ctl/ctl.h"

int main(int argc, char **argv)
{
	return ctl_main(argc, argv);
}
