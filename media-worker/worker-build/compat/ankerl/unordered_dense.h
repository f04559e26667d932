// Stand-in for ankerl::unordered_dense (github.com/martinus/unordered_dense),
// which neither Debian nor any registry reachable offline packages.
//
// The worker only uses map<>, set<> and hash<integral> as drop-in hash
// containers (find/emplace/erase/iterate, `it = erase(it)` loops; no
// values()/extract()/replace() and no reliance on iteration order, which
// unordered_dense does not guarantee after an erase either), so the standard
// containers are a semantic superset: they only add reference stability.
#ifndef PARLEY_COMPAT_ANKERL_UNORDERED_DENSE_H
#define PARLEY_COMPAT_ANKERL_UNORDERED_DENSE_H

#include <functional>
#include <memory>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace ankerl::unordered_dense
{
	// Same template shape as the real one (second parameter for SFINAE
	// specialisations); std::hash is good enough with prime-sized buckets.
	template<typename T, typename Enable = void>
	struct hash : std::hash<T>
	{
	};

	template<
	  typename Key,
	  typename T,
	  typename Hash      = hash<Key>,
	  typename KeyEqual  = std::equal_to<Key>,
	  typename Allocator = std::allocator<std::pair<const Key, T>>>
	using map = std::unordered_map<Key, T, Hash, KeyEqual, Allocator>;

	template<
	  typename Key,
	  typename Hash      = hash<Key>,
	  typename KeyEqual  = std::equal_to<Key>,
	  typename Allocator = std::allocator<Key>>
	using set = std::unordered_set<Key, Hash, KeyEqual, Allocator>;
} // namespace ankerl::unordered_dense

#endif
