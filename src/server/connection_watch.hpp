// Whether the client of a request has closed its connection, while the handler is still
// computing the answer. cpp-httplib 0.11 (Debian's) gives a handler no access to its socket, so
// the socket is found once by its two addresses (among this process's descriptors), then asked
// without blocking or reading (recv with MSG_PEEK): an orderly close reads as end of file.
#pragma once

#include <string>

namespace lowbit::server {

class ConnectionWatch {
public:
    ConnectionWatch(const std::string& remote_addr, int remote_port, int local_port);
    // True once the peer has closed (or reset) the connection. False when the socket was not
    // found (then nothing is known).
    bool closed() const;

private:
    int fd_ = -1;
};

}  // namespace lowbit::server
