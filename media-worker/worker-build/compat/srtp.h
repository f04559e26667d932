// libsrtp3 API subset used by mediasoup-worker (>= 3.23), implemented on
// Debian's libsrtp2 (libsrtp2-dev).
//
// Why: the worker targets versatica's libsrtp 3.0 beta, which no registry or
// distro packages. The wire format is identical; only a handful of calls
// changed shape: an opaque, builder-style policy, and protect/unprotect taking
// separate in/out buffers with size_t lengths. This header is first on the
// include path of the libsrtp3 stub subproject, so the worker's `#include
// <srtp.h>` lands here. C++ only (the worker includes it from C++ sources);
// the new-style calls are C++ overloads of libsrtp2's C functions.
#ifndef PARLEY_COMPAT_SRTP3_ON_SRTP2_H
#define PARLEY_COMPAT_SRTP3_ON_SRTP2_H

#ifndef __cplusplus
#error "compat srtp.h (libsrtp3 on libsrtp2) is C++ only"
#endif

#include <climits>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>

// libsrtp3 reuses the name srtp_policy_t for an opaque handle, which clashes
// with libsrtp2's struct of that name: rename libsrtp2's while including it.
#define srtp_policy_t srtp2_policy_t
#include <srtp2/srtp.h>
#undef srtp_policy_t

// Error codes libsrtp3 added after srtp_err_status_pkt_idx_adv (27).
inline constexpr srtp_err_status_t srtp_err_status_buffer_small = static_cast<srtp_err_status_t>(28);
inline constexpr srtp_err_status_t srtp_err_status_cryptex_err  = static_cast<srtp_err_status_t>(29);

// The opaque policy owns the key buffer, because libsrtp2's policy only
// points at a caller-owned, concatenated key || salt.
struct parley_srtp3_policy
{
	srtp2_policy_t p;
	unsigned char key[SRTP_MAX_KEY_LEN];
	bool hasKey;
};
typedef parley_srtp3_policy* srtp_policy_t;

inline srtp_err_status_t srtp_policy_create(srtp_policy_t* policy)
{
	if (!policy)
		return srtp_err_status_bad_param;
	*policy = new (std::nothrow) parley_srtp3_policy{}; // zeroed, like libsrtp2 expects
	return *policy ? srtp_err_status_ok : srtp_err_status_alloc_fail;
}

inline void srtp_policy_destroy(srtp_policy_t policy)
{
	if (policy)
		std::memset(policy->key, 0, sizeof(policy->key)); // don't leave keys in freed memory
	delete policy;
}

inline srtp_err_status_t srtp_policy_set_ssrc(srtp_policy_t policy, srtp_ssrc_t ssrc)
{
	if (!policy)
		return srtp_err_status_bad_param;
	policy->p.ssrc = ssrc;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_profile(srtp_policy_t policy, srtp_profile_t profile)
{
	if (!policy)
		return srtp_err_status_bad_param;
	const srtp_err_status_t err = srtp_crypto_policy_set_from_profile_for_rtp(&policy->p.rtp, profile);
	if (err != srtp_err_status_ok)
		return err;
	return srtp_crypto_policy_set_from_profile_for_rtcp(&policy->p.rtcp, profile);
}

// Only the single-key, no-MKI form the worker uses is supported.
inline srtp_err_status_t srtp_policy_add_key(
  srtp_policy_t policy,
  const uint8_t* key,
  size_t keyLen,
  const uint8_t* salt,
  size_t saltLen,
  const uint8_t* /*mki*/,
  size_t mkiLen)
{
	if (!policy || !key || (saltLen && !salt) || mkiLen != 0 || policy->hasKey)
		return srtp_err_status_bad_param;
	if (keyLen + saltLen > sizeof(policy->key))
		return srtp_err_status_bad_param;
	// libsrtp2 derives the master key length from the cipher: catch mismatches
	// here rather than reading past the key later.
	if (policy->p.rtp.cipher_key_len != 0 && static_cast<size_t>(policy->p.rtp.cipher_key_len) != keyLen + saltLen)
		return srtp_err_status_bad_param;
	std::memcpy(policy->key, key, keyLen);
	if (saltLen)
		std::memcpy(policy->key + keyLen, salt, saltLen);
	policy->p.key = policy->key;
	policy->hasKey = true;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_allow_repeat_tx(srtp_policy_t policy, bool allow)
{
	if (!policy)
		return srtp_err_status_bad_param;
	policy->p.allow_repeat_tx = allow ? 1 : 0;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_policy_set_window_size(srtp_policy_t policy, size_t windowSize)
{
	if (!policy)
		return srtp_err_status_bad_param;
	policy->p.window_size = windowSize;
	return srtp_err_status_ok;
}

inline srtp_err_status_t srtp_create(srtp_t* session, srtp_policy_t policy)
{
	if (!policy || !policy->hasKey)
		return srtp_err_status_bad_param;
	policy->p.next = nullptr;
	return srtp_create(session, &policy->p); // libsrtp2 copies what it needs
}

// libsrtp3 renamed srtp_remove_stream(); `ssrc` is in network byte order in both.
inline srtp_err_status_t srtp_stream_remove(srtp_t session, uint32_t ssrc)
{
	return srtp_remove_stream(session, ssrc);
}

namespace parley_srtp3
{
	using Fn = srtp_err_status_t (*)(srtp_t, void*, int*);

	// libsrtp2 transforms in place and may grow the packet by `slack` bytes;
	// libsrtp3 reads `in` and writes `out` (which may alias `in`) of capacity
	// *outLen, reporting buffer_small instead of overrunning it.
	inline srtp_err_status_t Transform(
	  Fn fn, srtp_t ctx, const uint8_t* in, size_t inLen, uint8_t* out, size_t* outLen, size_t slack)
	{
		if (!in || !out || !outLen || inLen > static_cast<size_t>(INT_MAX) - slack)
			return srtp_err_status_bad_param;
		if (*outLen < inLen + slack)
			return srtp_err_status_buffer_small;
		if (out != in)
			std::memmove(out, in, inLen);
		int len = static_cast<int>(inLen);
		const srtp_err_status_t err = fn(ctx, out, &len);
		if (err == srtp_err_status_ok)
			*outLen = static_cast<size_t>(len);
		return err;
	}
} // namespace parley_srtp3

inline srtp_err_status_t srtp_protect(
  srtp_t ctx, const uint8_t* rtp, size_t rtpLen, uint8_t* srtp, size_t* srtpLen, size_t mkiIndex)
{
	if (mkiIndex != 0)
		return srtp_err_status_bad_mki;
	return parley_srtp3::Transform(srtp_protect, ctx, rtp, rtpLen, srtp, srtpLen, SRTP_MAX_TRAILER_LEN);
}

inline srtp_err_status_t srtp_unprotect(
  srtp_t ctx, const uint8_t* srtp, size_t srtpLen, uint8_t* rtp, size_t* rtpLen)
{
	return parley_srtp3::Transform(srtp_unprotect, ctx, srtp, srtpLen, rtp, rtpLen, 0);
}

inline srtp_err_status_t srtp_protect_rtcp(
  srtp_t ctx, const uint8_t* rtcp, size_t rtcpLen, uint8_t* srtcp, size_t* srtcpLen, size_t mkiIndex)
{
	if (mkiIndex != 0)
		return srtp_err_status_bad_mki;
	// libsrtp2 also appends the 4-byte SRTCP index to RTCP.
	return parley_srtp3::Transform(
	  srtp_protect_rtcp, ctx, rtcp, rtcpLen, srtcp, srtcpLen, SRTP_MAX_TRAILER_LEN + 4);
}

inline srtp_err_status_t srtp_unprotect_rtcp(
  srtp_t ctx, const uint8_t* srtcp, size_t srtcpLen, uint8_t* rtcp, size_t* rtcpLen)
{
	return parley_srtp3::Transform(srtp_unprotect_rtcp, ctx, srtcp, srtcpLen, rtcp, rtcpLen, 0);
}

#endif
