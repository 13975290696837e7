package io.jmesh.security.ca;

import java.io.IOException;
import java.io.StringReader;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.X509Certificate;
import java.security.interfaces.RSAPublicKey;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Objects;

import org.bouncycastle.asn1.ASN1Encodable;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.Extensions;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.PKCSException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.jmesh.security.spiffe.SpiffeId;

/**
 * Signs workload certificates from CSRs, as Istio's CA ({@code security/pkg/pki/ca}) does.
 *
 * <p>A workload certificate has an empty subject, the caller's SPIFFE ID as its only SAN (a URI, critical since
 * the subject is empty), keyUsage digitalSignature and keyEncipherment (critical), extKeyUsage serverAuth and
 * clientAuth, basicConstraints CA:FALSE (critical) and the issuer's key identifier. It is valid from one minute
 * before now (clock skew) for the requested TTL, {@link #DEFAULT_CERT_TTL 24 h} when none is asked, never past the
 * signing certificate's own expiry. A TTL above the maximum ({@link #MAX_CERT_TTL 90 days}, Istio's
 * {@code MAX_WORKLOAD_CERT_TTL}) is refused, as Istio refuses it.
 *
 * <p>Thread-safe: the signing material is one volatile reference, replaced whole by {@link #setRoots}
 * (a root transition, a reloaded plug-in directory).
 */
public final class CertificateAuthority {

    private static final Logger logger = LoggerFactory.getLogger(CertificateAuthority.class);

    /** Istio's {@code DEFAULT_WORKLOAD_CERT_TTL}. */
    public static final Duration DEFAULT_CERT_TTL = Duration.ofHours(24);
    /** Istio's {@code MAX_WORKLOAD_CERT_TTL}. */
    public static final Duration MAX_CERT_TTL = Duration.ofDays(90);
    /** The largest PEM CSR accepted, in characters. */
    public static final int MAX_CSR_LENGTH = 32 * 1024;
    /** The smallest RSA key signed, in bits. */
    public static final int MIN_RSA_BITS = 2048;

    private volatile CaRoots roots;
    private final Duration defaultTtl;
    private final Duration maxTtl;
    private final Clock clock;

    /**
     * @param defaultTtl the TTL when a request asks for none
     * @param maxTtl     the largest TTL a request may ask for
     */
    public CertificateAuthority(CaRoots roots, Duration defaultTtl, Duration maxTtl, Clock clock) {
        this.roots = Objects.requireNonNull(roots, "roots");
        this.defaultTtl = Objects.requireNonNull(defaultTtl, "defaultTtl");
        this.maxTtl = Objects.requireNonNull(maxTtl, "maxTtl");
        this.clock = Objects.requireNonNull(clock, "clock");
        if (defaultTtl.isNegative() || defaultTtl.isZero()) {
            throw new IllegalArgumentException("defaultTtl: " + defaultTtl + " (expected: > 0)");
        }
        if (maxTtl.compareTo(defaultTtl) < 0) {
            throw new IllegalArgumentException("maxTtl: " + maxTtl + " (expected: >= defaultTtl " + defaultTtl + ")");
        }
    }

    /** A CA with Istio's TTLs and the system clock. */
    public CertificateAuthority(CaRoots roots) {
        this(roots, DEFAULT_CERT_TTL, MAX_CERT_TTL, Clock.systemUTC());
    }

    /** The signing material in use. */
    public CaRoots roots() {
        return roots;
    }

    /** Replaces the signing material; requests already being signed finish with the old one. */
    public void setRoots(CaRoots roots) {
        this.roots = Objects.requireNonNull(roots, "roots");
        logger.info("CA now signs with {}", roots);
    }

    /** The TTL given when a request asks for none. */
    public Duration defaultTtl() {
        return defaultTtl;
    }

    /** The largest TTL a request may ask for. */
    public Duration maxTtl() {
        return maxTtl;
    }

    /**
     * Signs {@code csrPem} for {@code caller}: the answer of {@code IstioCertificateService/CreateCertificate}.
     *
     * @param requestedTtl the TTL asked for; zero or negative means {@link #defaultTtl()}
     * @return the PEM chain, leaf first: the workload certificate, each certificate of
     *         {@link CaRoots#signingChain()}, and last the {@link CaRoots#trustBundlePem() trust bundle} (the
     *         signing root first, then any other root still trusted), as Istio answers
     * @throws CertificateRequestException {@code INVALID_CSR} for a CSR that is not PEM, too long, badly signed or
     *                                     with a weak key; {@code IDENTITY_MISMATCH} when the CSR asks for a URI
     *                                     SAN other than {@code caller}; {@code TTL} above the maximum
     */
    public List<String> sign(String csrPem, SpiffeId caller, Duration requestedTtl) throws CertificateRequestException {
        Objects.requireNonNull(caller, "caller");
        PKCS10CertificationRequest csr = parseCsr(csrPem);
        PublicKey key = publicKey(csr);
        checkKey(key);
        checkSignature(csr, key);
        for (String uri : requestedUris(csr)) {
            if (!uri.equals(caller.toString())) {
                throw new CertificateRequestException(CertificateRequestException.Reason.IDENTITY_MISMATCH,
                        "csr: requests identity " + uri + " but the caller is " + caller);
            }
        }
        Duration ttl = requestedTtl == null || requestedTtl.isZero() || requestedTtl.isNegative()
                ? defaultTtl : requestedTtl;
        if (ttl.compareTo(maxTtl) > 0) {
            throw new CertificateRequestException(CertificateRequestException.Reason.TTL,
                    "validity_duration: " + ttl.getSeconds() + "s (expected: <= " + maxTtl.getSeconds()
                            + "s, the max allowed TTL)");
        }
        CaRoots r = roots;
        X509Certificate leaf = issue(r, key, new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier,
                caller.toString())), ttl);
        List<String> out = new ArrayList<>();
        out.add(Pem.encode(leaf));
        r.signingChain().forEach(c -> out.add(Pem.encode(c)));
        out.add(r.trustBundlePem());
        logger.debug("signed {} until {}", caller, leaf.getNotAfter().toInstant());
        return out;
    }

    /**
     * Issues a serving certificate for {@code key} with {@code dnsNames} and {@code ipAddresses} as SANs (the
     * control plane's own certificate, as istiod issues itself one for {@code istiod.istio-system.svc}).
     *
     * @return the chain, leaf first, without the root
     */
    public List<X509Certificate> issueServing(PublicKey key, List<String> dnsNames, List<String> ipAddresses,
                                              Duration ttl) throws CertificateRequestException {
        List<GeneralName> names = new ArrayList<>();
        dnsNames.forEach(d -> names.add(new GeneralName(GeneralName.dNSName, d)));
        for (String ip : ipAddresses) {
            names.add(new GeneralName(GeneralName.iPAddress, ip));
        }
        CaRoots r = roots;
        List<X509Certificate> chain = new ArrayList<>();
        chain.add(issue(r, key, new GeneralNames(names.toArray(GeneralName[]::new)), ttl));
        chain.addAll(r.signingChain());
        return chain;
    }

    private X509Certificate issue(CaRoots r, PublicKey key, GeneralNames sans, Duration ttl)
            throws CertificateRequestException {
        X509Certificate issuer = r.signingCertificate();
        Instant now = clock.instant();
        Instant notAfter = now.plus(ttl);
        if (notAfter.isAfter(issuer.getNotAfter().toInstant())) {
            notAfter = issuer.getNotAfter().toInstant();
        }
        try {
            var b = new JcaX509v3CertificateBuilder(issuer, CaRoots.serial(), Date.from(now.minusSeconds(60)),
                    Date.from(notAfter), new X500Name(new org.bouncycastle.asn1.x500.RDN[0]), key);
            JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
            b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyEncipherment));
            b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(
                    new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
            b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
            b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(issuer));
            b.addExtension(Extension.subjectAlternativeName, true, sans);
            return new JcaX509CertificateConverter().getCertificate(b.build(
                    new JcaContentSignerBuilder(CaRoots.signatureAlgorithm(r.signingKey())).build(r.signingKey())));
        } catch (GeneralSecurityException | OperatorCreationException | IOException | IllegalArgumentException e) {
            throw new CertificateRequestException(CertificateRequestException.Reason.SIGNING,
                    "cannot sign: " + e.getMessage(), e);
        }
    }

    private static PKCS10CertificationRequest parseCsr(String pem) throws CertificateRequestException {
        if (pem == null || pem.isBlank()) {
            throw invalid("csr: \"\" (expected: a PEM CERTIFICATE REQUEST)", null);
        }
        if (pem.length() > MAX_CSR_LENGTH) {
            throw invalid("csr: " + pem.length() + " characters (expected: <= " + MAX_CSR_LENGTH + ")", null);
        }
        Object o;
        try (PEMParser parser = new PEMParser(new StringReader(pem))) {
            o = parser.readObject();
        } catch (IOException | RuntimeException e) {
            throw invalid("csr: not a PEM CERTIFICATE REQUEST: " + e.getMessage(), e);
        }
        if (!(o instanceof PKCS10CertificationRequest req)) {
            throw invalid("csr: " + (o == null ? "no PEM block" : "a " + o.getClass().getSimpleName())
                    + " (expected: a PEM CERTIFICATE REQUEST)", null);
        }
        return req;
    }

    private static PublicKey publicKey(PKCS10CertificationRequest csr) throws CertificateRequestException {
        try {
            return new JcaPEMKeyConverter().getPublicKey(csr.getSubjectPublicKeyInfo());
        } catch (IOException | RuntimeException e) {
            throw invalid("csr: unsupported public key: " + e.getMessage(), e);
        }
    }

    private static void checkSignature(PKCS10CertificationRequest csr, PublicKey key)
            throws CertificateRequestException {
        boolean valid;
        try {
            valid = csr.isSignatureValid(new JcaContentVerifierProviderBuilder().build(key));
        } catch (OperatorCreationException | PKCSException | RuntimeException e) {
            throw invalid("csr: signature cannot be checked: " + e.getMessage(), e);
        }
        if (!valid) {
            throw invalid("csr: signature does not verify with the CSR's public key", null);
        }
    }

    private static void checkKey(PublicKey key) throws CertificateRequestException {
        if (key instanceof RSAPublicKey rsa && rsa.getModulus().bitLength() < MIN_RSA_BITS) {
            throw invalid("csr: RSA key of " + rsa.getModulus().bitLength() + " bits (expected: >= " + MIN_RSA_BITS
                    + ")", null);
        }
        if (!key.getAlgorithm().equals("RSA") && !key.getAlgorithm().equals("EC")) {
            throw invalid("csr: " + key.getAlgorithm() + " key (expected: EC or RSA)", null);
        }
    }

    private static List<String> requestedUris(PKCS10CertificationRequest csr) throws CertificateRequestException {
        List<String> uris = new ArrayList<>();
        try {
            for (var attr : csr.getAttributes(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest)) {
                for (ASN1Encodable v : attr.getAttributeValues()) {
                    GeneralNames names = GeneralNames.fromExtensions(Extensions.getInstance(v),
                            Extension.subjectAlternativeName);
                    if (names == null) {
                        continue;
                    }
                    for (GeneralName n : names.getNames()) {
                        if (n.getTagNo() == GeneralName.uniformResourceIdentifier) {
                            uris.add(n.getName().toString());
                        }
                    }
                }
            }
        } catch (RuntimeException e) {
            throw invalid("csr: unreadable extension request: " + e.getMessage(), e);
        }
        return uris;
    }

    private static CertificateRequestException invalid(String message, Throwable cause) {
        return new CertificateRequestException(CertificateRequestException.Reason.INVALID_CSR, message, cause);
    }

}
