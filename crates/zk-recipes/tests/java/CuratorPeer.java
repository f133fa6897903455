// A Curator 5.4 participant driven line by line on stdin, for the interop test
// (tests/curator_interop.rs). Arguments: the connect string and a base path; the recipes
// live at <base>/mutex, <base>/latch, <base>/rw, <base>/semaphore (2 leases),
// <base>/smutex (semaphore mutex), <base>/multi/one + <base>/multi/two (multi-lock) and
// <base>/selector (leader selector).
// Commands: acquire, release, latch <id>, isleader, closelatch, read, unread, write, unwrite,
// lease, return, smacquire, smrelease, multi, unmulti, select <id>, relinquish,
// closeselector, quit. Each answers one line on stdout; the leader selector also says
// SELECTED, by itself, whenever it starts to lead.

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.util.Arrays;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderSelector;
import org.apache.curator.framework.recipes.leader.LeaderSelectorListenerAdapter;
import org.apache.curator.framework.recipes.locks.InterProcessMultiLock;
import org.apache.curator.framework.recipes.locks.InterProcessMutex;
import org.apache.curator.framework.recipes.locks.InterProcessReadWriteLock;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreMutex;
import org.apache.curator.framework.recipes.locks.InterProcessSemaphoreV2;
import org.apache.curator.framework.recipes.locks.Lease;
import org.apache.curator.retry.ExponentialBackoffRetry;

public class CuratorPeer {
    // Lines come from the command loop and from the selector's thread.
    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

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
        InterProcessSemaphoreMutex semaphoreMutex = new InterProcessSemaphoreMutex(client, base + "/smutex");
        InterProcessMultiLock multiLock = new InterProcessMultiLock(
            client, Arrays.asList(base + "/multi/one", base + "/multi/two"));
        // A leader holds leadership until told to relinquish it.
        Semaphore relinquish = new Semaphore(0);
        LeaderSelector selector = null;
        LeaderLatch latch = null;
        Lease lease = null;
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        say("READY");
        String line;
        while ((line = in.readLine()) != null) {
            String[] words = line.trim().split(" ");
            switch (words[0]) {
                case "acquire":
                    mutex.acquire();
                    say("ACQUIRED");
                    break;
                case "release":
                    mutex.release();
                    say("RELEASED");
                    break;
                case "latch":
                    latch = new LeaderLatch(client, base + "/latch", words[1]);
                    latch.start();
                    say("LATCHED");
                    break;
                case "isleader":
                    say("LEADER " + (latch != null && latch.hasLeadership()));
                    break;
                case "closelatch":
                    latch.close();
                    say("CLOSED");
                    break;
                case "read":
                    say(rw.readLock().acquire(1, TimeUnit.SECONDS) ? "READING" : "NOREAD");
                    break;
                case "unread":
                    rw.readLock().release();
                    say("UNREAD");
                    break;
                case "write":
                    say(rw.writeLock().acquire(1, TimeUnit.SECONDS) ? "WRITING" : "NOWRITE");
                    break;
                case "unwrite":
                    rw.writeLock().release();
                    say("UNWRITTEN");
                    break;
                case "lease":
                    lease = semaphore.acquire(1, TimeUnit.SECONDS);
                    say(lease != null ? "LEASED" : "NOLEASE");
                    break;
                case "return":
                    semaphore.returnLease(lease);
                    lease = null;
                    say("RETURNED");
                    break;
                case "smacquire":
                    semaphoreMutex.acquire();
                    say("SMACQUIRED");
                    break;
                case "smrelease":
                    semaphoreMutex.release();
                    say("SMRELEASED");
                    break;
                case "multi":
                    say(multiLock.acquire(1, TimeUnit.SECONDS) ? "MULTI" : "NOMULTI");
                    break;
                case "unmulti":
                    multiLock.release();
                    say("UNMULTI");
                    break;
                case "select":
                    selector = new LeaderSelector(client, base + "/selector", new LeaderSelectorListenerAdapter() {
                        @Override
                        public void takeLeadership(CuratorFramework leader) throws Exception {
                            say("SELECTED");
                            relinquish.acquire();
                        }
                    });
                    selector.setId(words[1]);
                    selector.autoRequeue();
                    selector.start();
                    say("SELECTING");
                    break;
                case "relinquish":
                    relinquish.release();
                    say("RELINQUISHED");
                    break;
                case "closeselector":
                    selector.close();
                    say("SELECTORCLOSED");
                    break;
                case "quit":
                    client.close();
                    say("BYE");
                    return;
                default:
                    say("UNKNOWN " + line);
            }
        }
    }
}
