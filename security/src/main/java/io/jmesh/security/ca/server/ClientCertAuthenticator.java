package io.jmesh.security.ca.server;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.Collection;
import java.util.List;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;

import io.grpc.Metadata;
import io.jmesh.security.spiffe.SpiffeId;

/**
 * Authenticates a caller by the certificate it presented in the TLS handshake (a workload renewing the
 * certificate this CA gave it): its identity is the leaf's SPIFFE URI SAN. The TLS layer has already verified the
 * chain against the mesh's trust bundle, so only certificates this CA (or a root still trusted) issued get here.
 * As Istio's {@code ClientCertAuthenticator}.
 */
public final class ClientCertAuthenticator implements Authenticator {

    @Override
    public SpiffeId authenticate(Metadata headers, SSLSession session) throws AuthenticationException {
        if (session == null) {
            return null;
        }
        java.security.cert.Certificate[] peer;
        try {
            peer = session.getPeerCertificates();
        } catch (SSLPeerUnverifiedException e) {
            return null; // no client certificate
        }
        if (peer.length == 0 || !(peer[0] instanceof X509Certificate leaf)) {
            return null;
        }
        Collection<List<?>> sans;
        try {
            sans = leaf.getSubjectAlternativeNames();
        } catch (CertificateParsingException e) {
            throw new AuthenticationException("client certificate: unreadable SANs: " + e.getMessage());
        }
        if (sans != null) {
            for (List<?> san : sans) {
                if (Integer.valueOf(6).equals(san.get(0)) && san.get(1) instanceof String uri
                        && uri.startsWith(SpiffeId.PREFIX)) {
                    try {
                        return SpiffeId.parse(uri);
                    } catch (IllegalArgumentException e) {
                        throw new AuthenticationException("client certificate: " + e.getMessage());
                    }
                }
            }
        }
        throw new AuthenticationException("client certificate: no SPIFFE URI SAN (expected: "
                + "spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>)");
    }

    @Override
    public String name() {
        return "ClientCertAuthenticator";
    }
}
