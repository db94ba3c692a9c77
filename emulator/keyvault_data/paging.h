// Paging of Key Vault lists (keys, secrets, and their versions and deleted items), shared by
// the stores: a page holds the items after an opaque marker, at most `max`, and the marker of
// the next page when more items follow. The marker is the lower-case name (map keys) or the
// version id of the page's last item; the adapters wrap it in a $skiptoken.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace cmk::keyvault_data {

template <typename View>
struct ItemPage {
  std::vector<View> items;
  std::optional<std::string> next_marker;
};

// Items of an ordered map (keyed by lower-case name) after `marker`, at most `max`;
// `to_view(mapped)` renders one.
template <typename View, typename Map, typename Fn>
ItemPage<View> page_after(Map& map, const std::string& marker, size_t max, Fn&& to_view) {
  ItemPage<View> page;
  auto it = marker.empty() ? map.begin() : map.upper_bound(marker);
  std::string last;
  for (; it != map.end() && page.items.size() < max; ++it) {
    page.items.push_back(to_view(it->second));
    last = it->first;
  }
  if (it != map.end() && !page.items.empty()) page.next_marker = last;
  return page;
}

// Items of a sequence in creation order after the one whose id() is `marker` (none left when no
// item has it), at most `max`.
template <typename View, typename Seq, typename IdFn, typename Fn>
ItemPage<View> page_of_sequence(const Seq& seq, const std::string& marker, size_t max, IdFn&& id,
                                Fn&& to_view) {
  size_t start = 0;
  if (!marker.empty()) {
    start = seq.size();
    for (size_t i = 0; i < seq.size(); ++i)
      if (id(seq[i]) == marker) {
        start = i + 1;
        break;
      }
  }
  ItemPage<View> page;
  size_t i = start;
  for (; i < seq.size() && page.items.size() < max; ++i) page.items.push_back(to_view(seq[i]));
  if (i < seq.size() && !page.items.empty()) page.next_marker = id(seq[i - 1]);
  return page;
}

}  // namespace cmk::keyvault_data
