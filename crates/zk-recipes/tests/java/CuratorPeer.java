// A Curator 5.4 participant driven line by line on stdin, for the interop test
// (tests/curator_interop.rs). Arguments: the connect string and a base path; the recipes
// live at <base>/mutex, <base>/latch, <base>/rw and <base>/semaphore (2 leases).
// Commands: acquire, release, latch <id>, isleader, closelatch, read, unread, write, unwrite,
// lease, return, quit. Each answers one line on stdout.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorPeer {
    public static void main(String[] args) throws Exception {
        String connectString = args[0];
        String base = args[1];
        CuratorFramework client = CuratorFrameworkFactory.newClient(
            connectString, 10000, 10000, new ExponentialBackoffRetry(100, 5));
        client.start();
        client.blockUntilConnected();
        InterProcessMutex mutex = new InterProcessMutex(client, base + "/mutex");
        InterProcessReadWriteLock rw = new InterProcessReadWriteLock(client, base + "/rw");
        InterProcessSemaphoreV2 semaphore = new InterProcessSemaphoreV2(client, base + "/semaphore", 2);
        LeaderLatch latch = null;
        Lease lease = null;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        System.out.println("READY");
        System.out.flush();
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.trim().split(" ");
            switch (words[0]) {
                case "acquire":
                    mutex.acquire();
                    System.out.println("ACQUIRED");
                    break;
                case "release":
                    mutex.release();
                    System.out.println("RELEASED");
                    break;
                case "latch":
                    latch = new LeaderLatch(client, base + "/latch", words[1]);
                    latch.start();
                    System.out.println("LATCHED");
                    break;
                case "isleader":
                    System.out.println("LEADER " + (latch != null && latch.hasLeadership()));
                    break;
                case "closelatch":
                    latch.close();
                    System.out.println("CLOSED");
                    break;
                case "read":
                    System.out.println(rw.readLock().acquire(1, TimeUnit.SECONDS) ? "READING" : "NOREAD");
                    break;
                case "unread":
                    rw.readLock().release();
                    System.out.println("UNREAD");
                    break;
                case "write":
                    System.out.println(rw.writeLock().acquire(1, TimeUnit.SECONDS) ? "WRITING" : "NOWRITE");
                    break;
                case "unwrite":
                    rw.writeLock().release();
                    System.out.println("UNWRITTEN");
                    break;
                case "lease":
                    lease = semaphore.acquire(1, TimeUnit.SECONDS);
                    System.out.println(lease != null ? "LEASED" : "NOLEASE");
                    break;
                case "return":
                    semaphore.returnLease(lease);
                    lease = null;
                    System.out.println("RETURNED");
                    break;
                case "quit":
                    client.close();
                    System.out.println("BYE");
                    System.out.flush();
                    return;
                default:
                    System.out.println("UNKNOWN " + line);
            }
            System.out.flush();
        }
    }
}
