// protobuf-c runtime (Debian: libprotobuf-c-dev). Imported only by the Wire module.
#include <protobuf-c/protobuf-c.h>
