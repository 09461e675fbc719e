// libzmq (Debian: libzmq3-dev). Imported only by the ZMQ module.
#include <zmq.h>
