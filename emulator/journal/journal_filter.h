// The pipeline filter that writes the journal: one record per request, after the response is
// known (so it sees short-circuited answers such as 401s and injected faults too). Admin calls
// are not journaled: tests read the journal through them.
#pragma once

#include "http/pipeline.h"
#include "journal/journal.h"
#include "state/clock.h"

namespace cmk::journal {

class JournalFilter : public http::Filter {
 public:
  // `bodies`: also keep (redacted) request and response bodies.
  JournalFilter(Journal& journal, const Clock& clock, bool bodies)
      : journal_(journal), clock_(clock), bodies_(bodies) {}
  void after(const http::Request& req, http::Response& res) override;

 private:
  Journal& journal_;
  const Clock& clock_;
  const bool bodies_;
};

}  // namespace cmk::journal
