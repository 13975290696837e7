package io.jmesh.security.ca.server;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509ExtendedTrustManager;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.grpc.ServerCredentials;
import io.grpc.TlsServerCredentials;
import io.jmesh.security.ca.CaRoots;
import io.jmesh.security.ca.CertificateAuthority;
import io.jmesh.security.ca.CertificateRequestException;

/**
 * TLS for the control plane's secure port (istiod's 15012): a serving certificate the CA issues to itself, and
 * client certificates verified against the mesh's trust bundle (optional: a caller may authenticate with a token
 * instead).
 *
 * <p>Both follow the CA: the serving certificate is issued again when half its lifetime has passed or the CA's
 * signing material changed, and the trust bundle is read from the CA at each handshake, so a root transition
 * needs no restart.
 */
public final class CaTls {

    private static final Logger logger = LoggerFactory.getLogger(CaTls.class);

    /** istiod's DNS name, the SNI and SAN a sidecar's bootstrap expects. */
    public static final String ISTIOD_SAN = "istiod.istio-system.svc";

    /** Lifetime of the control plane's serving certificate. */
    public static final Duration SERVING_CERT_TTL = Duration.ofDays(1);

    private CaTls() {}

    /**
     * Server credentials for the secure port: the serving certificate for {@code dnsNames} and
     * {@code ipAddresses}, client certificates optional and verified against the CA's trust bundle.
     *
     * @throws CertificateRequestException if the CA cannot issue the serving certificate
     */
    public static ServerCredentials serverCredentials(CertificateAuthority ca, List<String> dnsNames,
                                                      List<String> ipAddresses) throws CertificateRequestException {
        return TlsServerCredentials.newBuilder()
                .keyManager(new ServingKeyManager(ca, dnsNames, ipAddresses, SERVING_CERT_TTL, Clock.systemUTC()))
                .trustManager(new BundleTrustManager(ca))
                .clientAuth(TlsServerCredentials.ClientAuth.OPTIONAL)
                .build();
    }

    /**
     * A key manager serving a certificate the CA issues for {@code dnsNames} and {@code ipAddresses}, issued again at
     * half-life or when the CA's material changes (for other TLS servers of the control plane, e.g. its webhooks).
     *
     * @throws CertificateRequestException if the CA cannot issue the certificate
     */
    public static X509ExtendedKeyManager servingKeyManager(CertificateAuthority ca, List<String> dnsNames,
                                                           List<String> ipAddresses) throws CertificateRequestException {
        return new ServingKeyManager(ca, dnsNames, ipAddresses, SERVING_CERT_TTL, Clock.systemUTC());
    }

    /** A PKIX trust manager over the CA's current trust bundle. */
    public static X509ExtendedTrustManager trustManager(CertificateAuthority ca) {
        return new BundleTrustManager(ca);
    }

    static X509ExtendedTrustManager pkix(List<X509Certificate> roots) {
        try {
            KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
            ks.load(null, null);
            for (int i = 0; i < roots.size(); i++) {
                ks.setCertificateEntry("root-" + i, roots.get(i));
            }
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            for (var tm : tmf.getTrustManagers()) {
                if (tm instanceof X509ExtendedTrustManager x) {
                    return x;
                }
            }
            throw new IllegalStateException("no X509ExtendedTrustManager");
        } catch (GeneralSecurityException | java.io.IOException e) {
            throw new IllegalStateException("cannot build a trust manager over the CA's roots", e);
        }
    }

    private static final class BundleTrustManager extends X509ExtendedTrustManager {
        private final CertificateAuthority ca;
        private volatile CaRoots seen;
        private volatile X509ExtendedTrustManager delegate;

        BundleTrustManager(CertificateAuthority ca) {
            this.ca = ca;
            current();
        }

        private X509ExtendedTrustManager current() {
            CaRoots r = ca.roots();
            if (r != seen) {
                delegate = pkix(r.trustBundle());
                seen = r;
            }
            return delegate;
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            current().checkClientTrusted(chain, authType, socket);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            current().checkClientTrusted(chain, authType, engine);
        }

        @Override
        public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            current().checkClientTrusted(chain, authType);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
                throws CertificateException {
            current().checkServerTrusted(chain, authType, socket);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
                throws CertificateException {
            current().checkServerTrusted(chain, authType, engine);
        }

        @Override
        public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
            current().checkServerTrusted(chain, authType);
        }

        @Override
        public X509Certificate[] getAcceptedIssuers() {
            return current().getAcceptedIssuers();
        }
    }

    /** The serving key and certificate, issued again at half-life or when the CA's material changes. */
    private static final class ServingKeyManager extends X509ExtendedKeyManager {
        private record Issued(String alias, PrivateKey key, X509Certificate[] chain, CaRoots roots, Instant renewAt) {}

        private final CertificateAuthority ca;
        private final List<String> dnsNames;
        private final List<String> ips;
        private final Duration ttl;
        private final Clock clock;
        private volatile Issued current;
        private volatile Issued previous;
        private long generation;

        ServingKeyManager(CertificateAuthority ca, List<String> dnsNames, List<String> ips, Duration ttl, Clock clock)
                throws CertificateRequestException {
            this.ca = ca;
            this.dnsNames = List.copyOf(dnsNames);
            this.ips = List.copyOf(ips);
            this.ttl = ttl;
            this.clock = clock;
            this.current = issue();
        }

        private Issued issue() throws CertificateRequestException {
            KeyPair kp = CaRoots.newEcKeyPair();
            CaRoots roots = ca.roots();
            List<X509Certificate> chain = ca.issueServing(kp.getPublic(), dnsNames, ips, ttl);
            Instant notBefore = clock.instant();
            Instant notAfter = chain.get(0).getNotAfter().toInstant();
            Instant renewAt = notBefore.plus(Duration.between(notBefore, notAfter).dividedBy(2));
            logger.info("serving certificate for {} {} issued, valid until {}", dnsNames, ips, notAfter);
            return new Issued("serving-" + (++generation), kp.getPrivate(), chain.toArray(X509Certificate[]::new),
                    roots, renewAt);
        }

        private Issued fresh() {
            Issued i = current;
            if (i.roots == ca.roots() && clock.instant().isBefore(i.renewAt)) {
                return i;
            }
            synchronized (this) {
                i = current;
                if (i.roots == ca.roots() && clock.instant().isBefore(i.renewAt)) {
                    return i;
                }
                try {
                    Issued next = issue();
                    previous = i;
                    current = next;
                    return next;
                } catch (CertificateRequestException e) {
                    logger.error("cannot renew the serving certificate, keeping the current one: {}", e.getMessage());
                    return i;
                }
            }
        }

        private Issued byAlias(String alias) {
            Issued c = current;
            if (c.alias.equals(alias)) {
                return c;
            }
            Issued p = previous;
            return p != null && p.alias.equals(alias) ? p : null;
        }

        private String aliasFor(String keyType) {
            Issued i = fresh();
            String alg = i.key.getAlgorithm();
            if (keyType == null || keyType.startsWith(alg) || (alg.equals("EC") && keyType.startsWith("EC"))) {
                return i.alias;
            }
            return null;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return aliasFor(keyType);
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return aliasFor(keyType);
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            String a = aliasFor(keyType);
            return a == null ? null : new String[] {a};
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            Issued i = byAlias(alias);
            return i == null ? null : i.chain.clone();
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            Issued i = byAlias(alias);
            return i == null ? null : i.key;
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }
    }
}
